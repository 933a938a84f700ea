package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func ratioF(a, b float64) float64 { return a / b }

// The expected figures of the fixture over 2026-11-11.
var (
	wantGlobal = Figures{GMV: 760_50, NetGMV: 640_25, Orders: 9, Buyers: 6, AOV: 84_50,
		Refunds: 3, RefundedOrders: 2, RefundAmount: 120_25, RefundRate: ratioF(2, 9), RefundRateByAmount: ratioF(120_25, 760_50),
		UniqueViewers: 7, ConcurrentViewers: 30 + 90, PeakConcurrentViewers: 35 + 95, ReportedViewers: 300,
		ConversionRate: ratioF(6, 7), GPM: 108642_86, Joins: 11, Engagements: 16, EngagementPerViewer: ratioF(16, 7),
		AvgWatchSeconds: 82.5, LateEvents: 3, UnmatchedRefunds: 1, UnmatchedRefundAmount: 5_00, StreamCount: 3}
	wantS1 = Figures{GMV: 250_49, NetGMV: 230_24, Orders: 4, Buyers: 3, AOV: 62_62, // 62.6225
		Refunds: 1, RefundedOrders: 1, RefundAmount: 20_25, RefundRate: 0.25, RefundRateByAmount: ratioF(20_25, 250_49),
		UniqueViewers: 3, ConcurrentViewers: 30, PeakConcurrentViewers: 50, ReportedViewers: 0, // last count at M1: too old
		ConversionRate: 1, GPM: 83496_67, Joins: 6, Engagements: 8, EngagementPerViewer: ratioF(8, 3),
		AvgWatchSeconds: 95, LateEvents: 2, StreamCount: 1}
	wantS2 = Figures{GMV: 10_01, NetGMV: 10_01, Orders: 1, Buyers: 1, AOV: 10_01,
		UniqueViewers: 2, ConcurrentViewers: 0, PeakConcurrentViewers: 9, // ended at M1: not live
		ConversionRate: 0.5, GPM: 5005_00, Joins: 2, StreamCount: 1}
	wantS3 = Figures{GMV: 500_00, NetGMV: 400_00, Orders: 4, Buyers: 3, AOV: 125_00,
		Refunds: 2, RefundedOrders: 1, RefundAmount: 100_00, RefundRate: 0.25, RefundRateByAmount: 0.2,
		UniqueViewers: 3, ConcurrentViewers: 90, PeakConcurrentViewers: 110, ReportedViewers: 300,
		ConversionRate: 1, GPM: 166666_67, Joins: 3, Engagements: 8, EngagementPerViewer: ratioF(8, 3),
		AvgWatchSeconds: 45, LateEvents: 1, UnmatchedRefunds: 1, UnmatchedRefundAmount: 5_00, StreamCount: 1}
	wantK1 = Figures{GMV: 260_50, NetGMV: 240_25, Orders: 5, Buyers: 3, AOV: 52_10,
		Refunds: 1, RefundedOrders: 1, RefundAmount: 20_25, RefundRate: 0.2, RefundRateByAmount: ratioF(20_25, 260_50),
		UniqueViewers: 4, ConcurrentViewers: 30, PeakConcurrentViewers: 50 + 9, ReportedViewers: 0,
		ConversionRate: 0.75, GPM: 65125_00, Joins: 8, Engagements: 8, EngagementPerViewer: 2,
		AvgWatchSeconds: 95, LateEvents: 2, StreamCount: 2}
	wantDouyin = Figures{GMV: 750_49, NetGMV: 630_24, Orders: 8, Buyers: 6, AOV: 93_81, // 93.81125
		Refunds: 3, RefundedOrders: 2, RefundAmount: 120_25, RefundRate: 0.25, RefundRateByAmount: ratioF(120_25, 750_49),
		UniqueViewers: 6, ConcurrentViewers: 120, PeakConcurrentViewers: 130, ReportedViewers: 300,
		ConversionRate: 1, GPM: 125081_67, Joins: 9, Engagements: 16, EngagementPerViewer: ratioF(16, 6),
		AvgWatchSeconds: 82.5, LateEvents: 3, UnmatchedRefunds: 1, UnmatchedRefundAmount: 5_00, StreamCount: 2}
)

// get serves one request and returns the status and body.
func get(t *testing.T, h http.Handler, target string) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", target, ct)
	}
	return rec.Code, rec.Body.Bytes()
}

// getJSON serves one request that must succeed and decodes its body strictly.
func getJSON(t *testing.T, h http.Handler, target string, v any) {
	t.Helper()
	code, body := get(t, h, target)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, code, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("GET %s: %v\n%s", target, err, body)
	}
}

func wantError(t *testing.T, h http.Handler, target string, code int, contains string) {
	t.Helper()
	got, body := get(t, h, target)
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("GET %s: body %s is not a JSON error (%v)", target, body, err)
	}
	if got != code || !strings.Contains(e.Error, contains) {
		t.Errorf("GET %s: %d %q, want %d and an error mentioning %q", target, got, e.Error, code, contains)
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

const day = "from=2026-11-11T00:00:00%2B08:00&to=2026-11-12T00:00:00%2B08:00"

func TestLiveFigures(t *testing.T) {
	st := testenv.Store(t)
	seed(t, st)
	h := Handler(Config{Store: st})

	t.Run("live", func(t *testing.T) {
		var rep LiveReport
		getJSON(t, h, "/api/live?"+day, &rep)
		eq(t, "from", rep.From, "2026-11-11T00:00:00+08:00")
		eq(t, "to", rep.To, "2026-11-12T00:00:00+08:00")
		eq(t, "as_of", rep.AsOf, ptr("2026-11-11T12:03:00+08:00"))
		eq(t, "global", rep.Global, wantGlobal)
		eq(t, "top_streams", rep.TopStreams, []StreamFigures{
			{StreamID: "s3", KOLID: "k2", BrandID: "b1", Platform: "douyin", Figures: wantS3},
			{StreamID: "s1", KOLID: "k1", BrandID: "b1", Platform: "douyin", Figures: wantS1},
			{StreamID: "s2", KOLID: "k1", BrandID: "b2", Platform: "taobao", Figures: wantS2},
		})
		eq(t, "top_kols", rep.TopKOLs, []KOLFigures{{KOLID: "k2", Figures: wantS3}, {KOLID: "k1", Figures: wantK1}})
		eq(t, "platforms", rep.Platforms, []PlatformFigures{{Platform: "douyin", Figures: wantDouyin}, {Platform: "taobao", Figures: wantS2}})
		eq(t, "brands", rep.Brands, []BrandFigures{{BrandID: "b1", Figures: wantDouyin}, {BrandID: "b2", Figures: wantS2}})
	})

	t.Run("golden", func(t *testing.T) {
		code, body := get(t, h, "/api/live?"+day)
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, body)
		}
		golden(t, "live_2026-11-11.json", body)
	})

	t.Run("top_n", func(t *testing.T) {
		var rep LiveReport
		getJSON(t, Handler(Config{Store: st, TopN: 1}), "/api/live?"+day, &rep)
		if len(rep.TopStreams) != 1 || rep.TopStreams[0].StreamID != "s3" || len(rep.TopKOLs) != 1 || len(rep.Brands) != 1 || len(rep.Platforms) != 2 {
			t.Errorf("TopN 1: %d streams, %d KOLs, %d brands, %d platforms", len(rep.TopStreams), len(rep.TopKOLs), len(rep.Brands), len(rep.Platforms))
		}
	})

	t.Run("range", func(t *testing.T) {
		// Only M2: s3's minute. Its freshest minute is then M2, so s3 is live with M2's figures.
		var rep LiveReport
		getJSON(t, h, "/api/live?from=2026-11-11T12:02:00%2B08:00&to=2026-11-11T04:03:00Z", &rep)
		eq(t, "as_of", rep.AsOf, ptr("2026-11-11T12:02:00+08:00"))
		want := wantS3
		want.ConcurrentViewers, want.PeakConcurrentViewers, want.Engagements, want.EngagementPerViewer = 100, 110, 6, 2
		eq(t, "global M2", rep.Global, want)

		// The day before holds only s4's last minute; the row at the day's end is the next day's.
		getJSON(t, h, "/api/live?from=2026-11-10&to=2026-11-11", &rep)
		eq(t, "day before", rep.Global, Figures{GMV: 1000_00, NetGMV: 1000_00, Orders: 10, Buyers: 1, AOV: 100_00,
			UniqueViewers: 1, ConcurrentViewers: 500, PeakConcurrentViewers: 500, ConversionRate: 1, GPM: 1000000_00, StreamCount: 1})
		eq(t, "day before as_of", rep.AsOf, ptr("2026-11-10T23:59:00+08:00"))
		getJSON(t, h, "/api/live?from=2026-11-12T00:00:00%2B08:00&to=2026-11-12T00:01:00%2B08:00", &rep)
		eq(t, "day after gmv", rep.Global.GMV, Money(2000_00))

		// Seconds are widened to whole minutes; from alone runs to the end of its day; an
		// unencoded '+' (a space once decoded) is understood.
		getJSON(t, h, "/api/live?from=2026-11-11T12:00:30+08:00", &rep)
		eq(t, "widened from", rep.From, "2026-11-11T12:00:00+08:00")
		eq(t, "from's day end", rep.To, "2026-11-12T00:00:00+08:00")
		eq(t, "widened range", rep.Global, wantGlobal)
		getJSON(t, h, "/api/live?from=2026-11-11T12:00:00%2B08:00&to=2026-11-11T12:00:01%2B08:00", &rep)
		eq(t, "widened to", rep.To, "2026-11-11T12:01:00+08:00")
		eq(t, "M0 gmv", rep.Global.GMV, Money(150_50+10_01))
	})

	t.Run("stream", func(t *testing.T) {
		var d StreamDetail
		getJSON(t, h, "/api/streams/s1?"+day, &d)
		eq(t, "stream", d.StreamFigures, StreamFigures{StreamID: "s1", KOLID: "k1", BrandID: "b1", Platform: "douyin", Figures: wantS1})
		eq(t, "as_of", d.AsOf, ptr("2026-11-11T12:03:00+08:00"))
		eq(t, "minutes", d.Minutes, []MinutePoint{
			{Minute: "2026-11-11T12:00:00+08:00", GMV: 150_50, Orders: 3, Buyers: 2, Refunds: 1, RefundAmount: 20_25, Joins: 4,
				UniqueViewers: 3, ConcurrentViewers: 11, PeakConcurrentViewers: 13, Engagements: 2},
			{Minute: "2026-11-11T12:01:00+08:00", GMV: 99_99, Orders: 1, Buyers: 1, Joins: 2, UniqueViewers: 4,
				ConcurrentViewers: 40, PeakConcurrentViewers: 50, ReportedViewers: 120, Engagements: 5},
			{Minute: "2026-11-11T12:03:00+08:00", UniqueViewers: 2, ConcurrentViewers: 30, PeakConcurrentViewers: 35, Engagements: 1},
		})
		getJSON(t, h, "/api/streams/s2?"+day, &d)
		eq(t, "s2", d.Figures, wantS2)

		wantError(t, h, "/api/streams/s1?from=2026-11-12", http.StatusNotFound, "no data")
		wantError(t, h, "/api/streams/nope?"+day, http.StatusNotFound, "no data")
	})

	t.Run("kol", func(t *testing.T) {
		var d KOLDetail
		getJSON(t, h, "/api/kols/k1?"+day, &d)
		eq(t, "kol", d.KOLFigures, KOLFigures{KOLID: "k1", Figures: wantK1})
		eq(t, "streams", d.Streams, []StreamFigures{
			{StreamID: "s1", KOLID: "k1", BrandID: "b1", Platform: "douyin", Figures: wantS1},
			{StreamID: "s2", KOLID: "k1", BrandID: "b2", Platform: "taobao", Figures: wantS2},
		})
		eq(t, "minutes", d.Minutes, []MinutePoint{
			{Minute: "2026-11-11T12:00:00+08:00", GMV: 160_51, Orders: 4, Buyers: 3, Refunds: 1, RefundAmount: 20_25, Joins: 6,
				UniqueViewers: 5, ConcurrentViewers: 16, PeakConcurrentViewers: 21, Engagements: 2},
			{Minute: "2026-11-11T12:01:00+08:00", GMV: 99_99, Orders: 1, Buyers: 1, Joins: 2, UniqueViewers: 6,
				ConcurrentViewers: 47, PeakConcurrentViewers: 59, ReportedViewers: 140, Engagements: 5},
			{Minute: "2026-11-11T12:03:00+08:00", UniqueViewers: 2, ConcurrentViewers: 30, PeakConcurrentViewers: 35, Engagements: 1},
		})
		getJSON(t, h, "/api/kols/k2?"+day, &d)
		eq(t, "k2", d.Figures, wantS3)
		eq(t, "k2 streams", len(d.Streams), 1)
		wantError(t, h, "/api/kols/k3?"+day, http.StatusNotFound, "no data")
	})

	t.Run("quoted ids", func(t *testing.T) {
		// Ids holding a quote and a backslash are found, not broken or escaped twice.
		var d StreamDetail
		getJSON(t, h, "/api/streams/"+url.PathEscape(quotedStream)+"?from=2026-11-13", &d)
		eq(t, "stream", d.StreamFigures, StreamFigures{StreamID: quotedStream, KOLID: quotedKOL, BrandID: "b'4", Platform: "douyin",
			Figures: Figures{GMV: 1_00, NetGMV: 1_00, Orders: 1, Buyers: 1, AOV: 1_00, StreamCount: 1}})
		var k KOLDetail
		getJSON(t, h, "/api/kols/"+url.PathEscape(quotedKOL)+"?from=2026-11-13", &k)
		eq(t, "kol", k.KOLID, quotedKOL)
		eq(t, "kol streams", len(k.Streams), 1)
	})

	t.Run("injection", func(t *testing.T) {
		// Each would widen the match or break the statement if pasted into the SQL unescaped;
		// quoted, each is an id nobody has: 404, not a store error.
		for _, id := range []string{
			`s1' OR '1'='1`,
			`s1' OR 1=1 --`,
			`s1\' OR 1=1 --`,
			`s1\`,
			`'`,
			`s1'; DROP TABLE orders; --`,
			`s1' UNION ALL SELECT * FROM system.tables --`,
			"s1\x00' OR 1=1 --",
			"s1\n' OR 1=1 --",
			"s1{scope}{to}{key}{top_filter}",
		} {
			for _, base := range []string{"/api/streams/", "/api/kols/"} {
				wantError(t, h, base+url.PathEscape(id)+"?"+day, http.StatusNotFound, "no data")
			}
		}
		var rep LiveReport
		getJSON(t, h, "/api/live?"+day, &rep)
		eq(t, "figures after the attempts", rep.Global, wantGlobal)
	})

	t.Run("bad requests", func(t *testing.T) {
		for target, mention := range map[string]string{
			"/api/live?from=yesterday":                                    "bad from",
			"/api/live?from=2026-11-11T00:00:00":                          "bad from", // no zone
			"/api/live?from=2026-11-11&to=2026-13-01":                     "bad to",
			"/api/live?from=2026-11-12&to=2026-11-11":                     "from must be before to",
			"/api/live?from=2026-11-11T10:00:00Z&to=2026-11-11T10:00:00Z": "from must be before to",
			"/api/live?from=1900-01-01":                                   "bad from",
			"/api/streams/s1?from=2026-11-11&to=x":                        "bad to",
			"/api/kols/k1?from=x":                                         "bad from",
			"/api/streams/" + strings.Repeat("x", 2000):                   "bad id",
		} {
			wantError(t, h, target, http.StatusBadRequest, mention)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// golden compares body, indented, with testdata/name; -update rewrites the file.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./dashboards/api/ -run TestLiveFigures/golden -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("response differs from %s (rerun with -update if intended):\n%s", path, buf.Bytes())
	}
}

func TestLiveEmptyStore(t *testing.T) {
	st := testenv.Store(t)
	now := at(15, 4, 5)
	h := Handler(Config{Store: st, Now: func() time.Time { return now }})
	var rep LiveReport
	getJSON(t, h, "/api/live", &rep) // default range: today in Shanghai
	eq(t, "report", rep, LiveReport{From: "2026-11-11T00:00:00+08:00", To: "2026-11-12T00:00:00+08:00",
		TopStreams: []StreamFigures{}, TopKOLs: []KOLFigures{}, Platforms: []PlatformFigures{}, Brands: []BrandFigures{}})
	code, body := get(t, h, "/api/live")
	for _, zero := range []string{`"gmv":"0.00"`, `"aov":"0.00"`, `"gpm":"0.00"`, `"refund_rate":0`, `"top_streams":[]`, `"as_of":null`} {
		if code != http.StatusOK || !bytes.Contains(body, []byte(zero)) {
			t.Errorf("empty store: %d %s lacks %s", code, body, zero)
		}
	}
	wantError(t, h, "/api/streams/s1", http.StatusNotFound, "no data")
	wantError(t, h, "/api/kols/k1", http.StatusNotFound, "no data")

	// Another zone's today.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	getJSON(t, Handler(Config{Store: st, Location: ny, Now: func() time.Time { return now }}), "/api/live", &rep)
	eq(t, "New York day", [2]string{rep.From, rep.To}, [2]string{"2026-11-11T00:00:00-05:00", "2026-11-12T00:00:00-05:00"})
}

func TestLiveStoreDown(t *testing.T) {
	st := testenv.Store(t)
	h := Handler(Config{Store: st})
	st.Close()
	for _, target := range []string{"/api/live", "/api/streams/s1", "/api/kols/k1"} {
		wantError(t, h, target, http.StatusServiceUnavailable, "store unavailable")
	}
	wantError(t, h, "/api/live?from=bad", http.StatusBadRequest, "bad from") // checked before the store
}

// TestSQLStringRoundTrip has the engine read back each literal: it must be exactly the string.
func TestSQLStringRoundTrip(t *testing.T) {
	st := testenv.Store(t)
	for _, s := range []string{"", "'", `\`, `\'`, `''`, `'\''`, `a'b\c`, "s1' OR '1'='1", "x'; DROP TABLE orders; --",
		"nul\x00byte", "line\nbreak\ttab\rcr", "\x01\x1f\x7f", "日本語 ✓", "\xff\xfe not UTF-8", `\x41 \n \0 \N`, "{from} ?"} {
		out, err := st.Backend().Query(context.Background(), "SELECT hex("+sqlString(s)+")", "TabSeparated")
		if err != nil {
			t.Errorf("%q as %s: %v", s, sqlString(s), err)
			continue
		}
		if got, want := strings.TrimSpace(string(out)), strings.ToUpper(hexOf(s)); got != want {
			t.Errorf("%q as %s read back as %s, want %s", s, sqlString(s), got, want)
		}
	}
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, digits[s[i]>>4], digits[s[i]&15])
	}
	return string(b)
}

func TestSQLString(t *testing.T) {
	for in, want := range map[string]string{
		"":           `''`,
		"abc":        `'abc'`,
		"it's":       `'it\'s'`,
		`back\slash`: `'back\\slash'`,
		`\'`:         `'\\\''`,
		"a\x00b\n":   `'a\x00b\x0A'`,
		"日本":         `'日本'`,
	} {
		if got := sqlString(in); got != want {
			t.Errorf("sqlString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestMoney(t *testing.T) {
	for m, want := range map[Money]string{0: "0.00", 5: "0.05", 123450: "1234.50", -1: "-0.01", -123456: "-1234.56", 100: "1.00"} {
		b, _ := json.Marshal(m)
		if string(b) != `"`+want+`"` {
			t.Errorf("%d marshals as %s, want %q", int64(m), b, want)
		}
		var back Money
		if err := json.Unmarshal(b, &back); err != nil || back != m {
			t.Errorf("%s unmarshals as %d, %v", b, back, err)
		}
	}
	for _, bad := range []string{`"1.5"`, `"1"`, `1.50`, `"1.500"`, `".50"`, `"1.5x"`, `"+1.50"`} {
		var m Money
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("%s unmarshalled as %d", bad, m)
		}
	}
}

func TestDerivedFigures(t *testing.T) {
	// AOV and GPM round half up to the cent, exactly, even past int64 intermediate values.
	for _, c := range []struct {
		gmv           int64
		orders, views int64
		aov, gpm      Money
	}{
		{gmv: 5, orders: 2, views: 3, aov: 3, gpm: 1667},   // 2.5 → 3; 1666.67 → 1667
		{gmv: 25, orders: 10, views: 8, aov: 3, gpm: 3125}, // 2.5 → 3
		{gmv: 24, orders: 10, views: 7, aov: 2, gpm: 3429}, // 2.4 → 2; 3428.57 → 3429
		{gmv: 1, orders: 3, views: 2000, aov: 0, gpm: 1},   // 0.33 → 0; 0.5 → 1
		{gmv: 1, orders: 3, views: 2001, aov: 0, gpm: 0},   // 0.4998 → 0
		{gmv: 0, orders: 0, views: 0, aov: 0, gpm: 0},      // nothing: zeros
		// gmv × 1000 = 9,999,999,999,999,999,000 overflows int64; the quotient does not.
		{gmv: 9_999_999_999_999_999, orders: 1, views: 3, aov: 9_999_999_999_999_999, gpm: 3_333_333_333_333_333_000},
	} {
		r := figuresRow{GMVCents: chNum(c.gmv), Orders: chNum(c.orders), UniqueViewers: chNum(c.views)}
		f := r.figures()
		if f.AOV != c.aov || f.GPM != c.gpm {
			t.Errorf("gmv %d, %d orders, %d viewers: aov %s gpm %s, want %s and %s", c.gmv, c.orders, c.views, f.AOV, f.GPM, c.aov, c.gpm)
		}
	}
	r := figuresRow{RefundCents: 500}
	if f := r.figures(); f.NetGMV != -500 || f.RefundRateByAmount != 0 || f.RefundRate != 0 {
		t.Errorf("refunds without sales: %+v", f)
	}
}

func TestParseRange(t *testing.T) {
	a := newLiveAPI(Config{Now: func() time.Time { return time.Date(2026, 11, 10, 16, 30, 0, 0, time.UTC) }}) // 00:30 on the 11th in Shanghai
	for q, want := range map[string][2]string{
		"":                                   {"2026-11-11T00:00:00+08:00", "2026-11-12T00:00:00+08:00"},
		"from=2026-11-11":                    {"2026-11-11T00:00:00+08:00", "2026-11-12T00:00:00+08:00"},
		"from=2026-11-11T23:59:59.5%2B08:00": {"2026-11-11T23:59:00+08:00", "2026-11-12T00:00:00+08:00"},
		"to=2026-11-12":                      {"2026-11-11T00:00:00+08:00", "2026-11-12T00:00:00+08:00"},
		"to=2026-11-11T10:00:30Z":            {"2026-11-11T00:00:00+08:00", "2026-11-11T18:01:00+08:00"},
		"from=2026-11-11T00:00:00Z&to=2026-11-12T00:00:00Z": {"2026-11-11T08:00:00+08:00", "2026-11-12T08:00:00+08:00"},
		"from=2026-11-11T08:00:00 08:00":                    {"2026-11-11T08:00:00+08:00", "2026-11-12T00:00:00+08:00"}, // '+' decoded to ' '
	} {
		r := httptest.NewRequest(http.MethodGet, "/api/live?"+strings.ReplaceAll(q, " ", "+"), nil)
		tr, err := a.parseRange(r)
		if err != nil {
			t.Errorf("%q: %v", q, err)
			continue
		}
		if got := [2]string{a.q.formatTime(tr.from), a.q.formatTime(tr.to)}; got != want {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
}

// TestLiveRoutes checks the routes exist and answer JSON (a store-less config is enough for 400s).
func TestLiveRoutes(t *testing.T) {
	h := Handler(Config{})
	for _, target := range []string{"/api/live?from=x", "/api/streams/s1?from=x", "/api/kols/k1?from=x"} {
		wantError(t, h, target, http.StatusBadRequest, "bad from")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/live", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/live: %d", rec.Code)
	}
}

// TestResponseFieldsNotShadowed guards against an embedded figure being hidden by a field of the
// same JSON name (encoding/json drops the deeper one silently): every response that carries a
// figure set must carry all of it.
func TestResponseFieldsNotShadowed(t *testing.T) {
	var figureKeys []string
	ft := reflect.TypeFor[Figures]()
	for i := range ft.NumField() {
		figureKeys = append(figureKeys, strings.Split(ft.Field(i).Tag.Get("json"), ",")[0])
	}
	for name, v := range map[string]any{
		"StreamFigures": StreamFigures{}, "KOLFigures": KOLFigures{}, "PlatformFigures": PlatformFigures{},
		"BrandFigures": BrandFigures{}, "StreamDetail": StreamDetail{}, "KOLDetail": KOLDetail{},
	} {
		b, _ := json.Marshal(v)
		var m map[string]any
		json.Unmarshal(b, &m)
		for _, k := range figureKeys {
			if _, ok := m[k]; !ok {
				t.Errorf("%s lacks %q: %s", name, k, b)
			}
		}
	}
}
