package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/flags"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
)

// seedFlags stores two flags: one on s1 (k1, b1) inside the fixture's day, one on s3 (k2, b1)
// the day before, which no audit of the day may show.
func seedFlags(t *testing.T, st *store.Store) {
	t.Helper()
	pub := flags.NewPublisher(flags.Config{}, st)
	defer pub.Close()
	mk := func(id, kind string, s streamInfo, start, end int64) detectors.Flag {
		return detectors.Flag{FlagID: id, Kind: kind, StreamID: s.id, KOLID: s.kol, BrandID: s.brand, Platform: s.platform,
			Severity: detectors.SeverityCritical, Score: 0.75, WindowStart: start, WindowEnd: end, DetectedAt: end, State: "open",
			Evidence: detectors.Evidence{Summary: "displayed 120 viewers; 40 measured sessions", Fired: []string{"ratio"},
				Signals: map[string]float64{"ratio": 3}, Baseline: map[string]float64{"ratio": 2}}}
	}
	if err := pub.Publish(context.Background(), []detectors.Flag{
		mk("f-s1", "viewer_inflation", s1, m1.UnixMilli(), m2.UnixMilli()),
		mk("f-s3-old", "refund_spike", s3, dayBefore.Add(-59*time.Minute).UnixMilli(), dayBefore.UnixMilli()),
	}, ""); err != nil {
		t.Fatal(err)
	}
	// A replay's flags are not the record: the audit must not show them.
	if err := pub.Publish(context.Background(), []detectors.Flag{
		mk("f-s1-replayed", "order_brushing", s1, m1.UnixMilli(), m2.UnixMilli()),
	}, "retuned"); err != nil {
		t.Fatal(err)
	}
}

var wantFlagS1 = AuditFlag{FlagID: "f-s1", Kind: "viewer_inflation", StreamID: "s1", Severity: "critical", Score: 0.75, State: "open",
	WindowStart: "2026-11-11T12:01:00+08:00", WindowEnd: "2026-11-11T12:02:00+08:00", DetectedAt: "2026-11-11T12:02:00+08:00",
	Summary:  "displayed 120 viewers; 40 measured sessions",
	Evidence: json.RawMessage(`{"summary":"displayed 120 viewers; 40 measured sessions","fired":["ratio"],"signals":{"ratio":3},"baseline":{"ratio":2}}`)}

func auditStream(s streamInfo, f Figures) AuditStream {
	return AuditStream{StreamFigures: StreamFigures{StreamID: s.id, KOLID: s.kol, BrandID: s.brand, Platform: s.platform, Figures: f},
		MinutesURL: "/api/streams/" + s.id + "?from=2026-11-11T00%3A00%3A00%2B08%3A00&to=2026-11-12T00%3A00%3A00%2B08%3A00"}
}

func TestAudit(t *testing.T) {
	st := testenv.Store(t)
	seed(t, st)
	seedFlags(t, st)
	h := Handler(Config{Store: st})

	// k1 over the day: s1 and s2. Displayed counts per minute: M1 has s1's 120 and s2's 20.
	k1 := KOLScorecard{KOLID: "k1", Selected: true, Figures: wantK1, PeakDisplayedViewers: 140, DisplayedToMeasured: ratioF(140, 59),
		FlagCount: 1, Flags: []AuditFlag{wantFlagS1}, Streams: []AuditStream{auditStream(s1, wantS1), auditStream(s2, wantS2)}}
	// k1 on brand b1: s1 only. k2 on b1: s3, whose only flag is the day before.
	k1b1 := KOLScorecard{KOLID: "k1", Selected: true, Figures: wantS1, PeakDisplayedViewers: 120, DisplayedToMeasured: ratioF(120, 50),
		FlagCount: 1, Flags: []AuditFlag{wantFlagS1}, Streams: []AuditStream{auditStream(s1, wantS1)}}
	k2b1 := KOLScorecard{KOLID: "k2", Figures: wantS3, PeakDisplayedViewers: 300, DisplayedToMeasured: ratioF(300, 110),
		Flags: []AuditFlag{}, Streams: []AuditStream{auditStream(s3, wantS3)}}
	var kolMinutes KOLDetail
	getJSON(t, h, "/api/kols/k1?"+day, &kolMinutes)
	var s1Minutes StreamDetail
	getJSON(t, h, "/api/streams/s1?"+day, &s1Minutes)

	f := func(query string, want AuditReport) {
		t.Helper()
		var got AuditReport
		getJSON(t, h, "/api/audit?"+query+"&"+day, &got)
		want.From, want.To, want.AsOf = "2026-11-11T00:00:00+08:00", "2026-11-12T00:00:00+08:00", ptr("2026-11-11T12:03:00+08:00")
		eq(t, query, got, want)
	}
	f("kol=k1", AuditReport{KOLID: "k1", KOLs: []KOLScorecard{k1}, Minutes: kolMinutes.Minutes})
	f("kol=k1&brand=b1", AuditReport{KOLID: "k1", BrandID: "b1", KOLs: []KOLScorecard{k2b1, k1b1}, Minutes: s1Minutes.Minutes})
	k1b1.Selected = false
	f("brand=b1", AuditReport{BrandID: "b1", KOLs: []KOLScorecard{k2b1, k1b1}, Minutes: []MinutePoint{}})

	t.Run("golden", func(t *testing.T) {
		for name, query := range map[string]string{
			"audit_k1_b1.json": "kol=k1&brand=b1",
			"audit_k1_b1.txt":  "kol=k1&brand=b1&format=table",
			"audit_b1.csv":     "brand=b1&format=csv",
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/audit?"+query+"&"+day, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
			}
			if filepath.Ext(name) == ".json" {
				golden(t, name, rec.Body.Bytes())
			} else {
				goldenRaw(t, name, rec.Body.Bytes())
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		wantError(t, h, "/api/audit?"+day, http.StatusBadRequest, "kol or brand is required")
		wantError(t, h, "/api/audit?kol=k1&format=xml&"+day, http.StatusBadRequest, "bad format")
		wantError(t, h, "/api/audit?kol=k1&from=x", http.StatusBadRequest, "bad from")
		wantError(t, h, "/api/audit?kol=k9&"+day, http.StatusNotFound, "no data")
		wantError(t, h, "/api/audit?kol=k2&brand=b2&"+day, http.StatusNotFound, "no data") // k2 never sold b2
		wantError(t, h, "/api/audit?kol="+"k1'%20OR%20'1'='1&"+day, http.StatusNotFound, "no data")
		wantError(t, h, "/api/audit?brand=b1'%20OR%20'1'='1&"+day, http.StatusNotFound, "no data")
	})
}

// TestAuditExportRoundTrip reads the CSV and Parquet exports back and compares every cell with
// the JSON report's figures.
func TestAuditExportRoundTrip(t *testing.T) {
	st := testenv.Store(t)
	seed(t, st)
	seedFlags(t, st)
	h := Handler(Config{Store: st})
	var rep AuditReport
	getJSON(t, h, "/api/audit?brand=b1&"+day, &rep)
	body := func(format string) []byte {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/audit?brand=b1&format="+format+"&"+day, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", format, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}

	t.Run("csv", func(t *testing.T) {
		rows, err := csv.NewReader(bytes.NewReader(body("csv"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1+len(rep.KOLs) {
			t.Fatalf("%d rows, want a header and %d", len(rows), len(rep.KOLs))
		}
		for j, c := range auditColumns {
			if rows[0][j] != c.name {
				t.Errorf("header %d: %q, want %q", j, rows[0][j], c.name)
			}
			for i := range rep.KOLs {
				if want := formatCell(c.value(&rep, &rep.KOLs[i])); rows[1+i][j] != want {
					t.Errorf("row %d %s: %q, want %q", i, c.name, rows[1+i][j], want)
				}
			}
		}
		if rows[1][4] != "500.00" || rows[2][4] != "250.49" { // gmv, exact decimals
			t.Errorf("gmv cells %q %q", rows[1][4], rows[2][4])
		}
	})

	t.Run("parquet", func(t *testing.T) {
		rdr, err := file.NewParquetReader(bytes.NewReader(body("parquet")))
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Close()
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Release()
		want := AuditArrowSchema()
		for i, f := range tbl.Schema().Fields() { // the reader adds field-id metadata: compare names and types
			if f.Name != want.Field(i).Name || !arrow.TypeEqual(f.Type, want.Field(i).Type) {
				t.Fatalf("field %d: %s %v, want %s %v", i, f.Name, f.Type, want.Field(i).Name, want.Field(i).Type)
			}
		}
		if tbl.NumRows() != int64(len(rep.KOLs)) {
			t.Fatalf("%d rows, want %d", tbl.NumRows(), len(rep.KOLs))
		}
		for j, c := range auditColumns {
			col := tbl.Column(j).Data().Chunk(0)
			for i := range rep.KOLs {
				var got any
				switch a := col.(type) {
				case *array.String:
					got = a.Value(i)
				case *array.Decimal128:
					if a.DataType().(*arrow.Decimal128Type).Scale != 2 {
						t.Fatalf("%s: scale %d", c.name, a.DataType().(*arrow.Decimal128Type).Scale)
					}
					got = Money(a.Value(i).LowBits())
				case *array.Uint64:
					got = a.Value(i)
				case *array.Float64:
					got = a.Value(i)
				default:
					t.Fatalf("%s: column of type %T", c.name, col)
				}
				if want := c.value(&rep, &rep.KOLs[i]); got != want {
					t.Errorf("row %d %s: %v, want %v", i, c.name, got, want)
				}
			}
		}
	})
}

// goldenRaw compares body with testdata/name byte for byte; -update rewrites the file.
func goldenRaw(t *testing.T, name string, body []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./dashboards/api/ -run TestAudit/golden -update)", err)
	}
	if !bytes.Equal(body, want) {
		t.Errorf("response differs from %s (rerun with -update if intended):\n%s", path, body)
	}
}
