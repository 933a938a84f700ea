package simulate

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

// sale is the start of Singles' Day in China.
var sale = time.Date(2025, 11, 11, 0, 0, 0, 0, shanghai())

// digest hashes every field of every message of cfg.
func digest(cfg Config) (sum [32]byte, n int) {
	h := sha256.New()
	g := NewGenerator(cfg)
	var m Message
	var head []byte
	for g.Next(&m) {
		head = binary.AppendVarint(append(head[:0], byte(m.Kind)), m.TS)
		head = binary.AppendUvarint(binary.AppendUvarint(append(head, boolByte(m.Bad)), uint64(len(m.Key))), uint64(len(m.Value)))
		h.Write(head)
		h.Write(m.Key)
		h.Write(m.Value)
		n++
	}
	copy(sum[:], h.Sum(nil))
	return sum, n
}

func TestDeterminism(t *testing.T) {
	base := Config{Seed: 42, Start: sale.Add(-time.Minute), Duration: 2 * time.Minute, Streams: 20, Rate: 500, BadFraction: 0.01}
	want, n := digest(base)
	if n < 10_000 {
		t.Fatalf("only %d messages", n)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		same bool
	}{
		{"same seed", func(*Config) {}, true},
		{"explicit defaults", func(c *Config) { c.Location, c.Currency, c.Disorder = shanghai(), "CNY", 0.005 }, true},
		{"other seed", func(c *Config) { c.Seed = 43 }, false},
		{"other start", func(c *Config) { c.Start = c.Start.Add(time.Hour) }, false},
		{"no bad messages", func(c *Config) { c.BadFraction = 0 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			got, _ := digest(cfg)
			if (got == want) != tc.same {
				t.Errorf("identical = %t, want %t", got == want, tc.same)
			}
		})
	}
}

// decoded is a generated message with its decoding.
type decoded struct {
	*Message
	ev  schemas.Event
	err error
}

// each runs cfg's generator, calling check with every message decoded, and returns its Stats.
func each(t *testing.T, cfg Config, check func(i int, d *decoded)) Stats {
	t.Helper()
	g := NewGenerator(cfg)
	dec := schemas.NewDecoder(schemas.DecoderConfig{PastHorizon: -1, FutureSkew: 24 * time.Hour})
	now := cfg.Start.Add(cfg.Duration)
	d := decoded{Message: new(Message)}
	for i := 0; g.Next(d.Message); i++ {
		d.err = dec.Decode(d.Kind, d.Value, now, &d.ev)
		check(i, &d)
	}
	if g.Next(d.Message) {
		t.Fatal("Next delivered after reporting the end")
	}
	return g.Stats()
}

func TestMessagesDecode(t *testing.T) {
	reasons := map[schemas.Reason]int{}
	cfg := Config{Seed: 1, Start: sale.Add(-2 * time.Minute), Duration: 4 * time.Minute, Streams: 30, Rate: 300, BadFraction: 0.02}
	stats := each(t, cfg, func(i int, d *decoded) {
		switch {
		case !d.Bad && d.err != nil:
			t.Fatalf("message %d does not decode: %v\n%s", i, d.err, d.Value)
		case d.Bad && d.err == nil:
			t.Fatalf("bad message %d decodes\n%s", i, d.Value)
		case d.Bad:
			var inv *schemas.InvalidError
			if !errorsAs(d.err, &inv) || inv.Reason != d.info.badReason {
				t.Fatalf("bad message %d: %v, want reason %s\n%q", i, d.err, d.info.badReason, d.Value)
			}
			reasons[inv.Reason]++
		}
		if !d.Bad && d.ev.Header().StreamID != string(d.Key) {
			t.Fatalf("message %d: key %q, stream_id %q", i, d.Key, d.ev.Header().StreamID)
		}
	})
	for _, r := range []schemas.Reason{schemas.ReasonNotJSON, schemas.ReasonNotUTF8, schemas.ReasonMissingField,
		schemas.ReasonWrongType, schemas.ReasonNegativeAmount, schemas.ReasonUnknownAction} {
		if reasons[r] == 0 {
			t.Errorf("no bad message of reason %s (have %v)", r, reasons)
		}
	}
	if frac := float64(stats.BadTotal()) / float64(stats.Messages); frac < 0.015 || frac > 0.025 {
		t.Errorf("bad fraction %.4f, want ≈ 0.02", frac)
	}
}

func TestInvariants(t *testing.T) {
	// Ten minutes either side of midnight: the daily peak, the surge, orders and quick refunds.
	cfg := Config{Seed: 5, Start: sale.Add(-10 * time.Minute), Duration: 20 * time.Minute, Streams: 40, Rate: 150, BadFraction: 0.001}
	stats, lateEngaged := checkInvariants(t, cfg, nil)

	// Plausibility: who buys, who returns, who stays silent, how many arrive late.
	joins := stats.Actions[schemas.ActionJoin]
	checkRange(t, "orders per session", float64(stats.Orders)/float64(joins), 0.015, 0.08)
	checkRange(t, "refunds per order", float64(stats.Good[schemas.KindRefund])/float64(stats.Orders), 0.005, 0.15)
	checkRange(t, "leaves per join", float64(stats.Actions[schemas.ActionLeave])/float64(joins), 0.7, 0.99)
	checkRange(t, "late heartbeats and engages", float64(lateEngaged)/float64(stats.Actions[schemas.ActionHeartbeat]+stats.Actions[schemas.ActionEngage]), 0.002, 0.008)
	if stats.Streams <= int64(cfg.Streams) {
		t.Errorf("%d streams in 20 minutes: none replaced", stats.Streams)
	}
}

// checkInvariants runs cfg's generator and checks every message (in range, at most 3 s late,
// unique event ids, sessions that join once before anything else and leave at most once,
// refunds of earlier orders that match them) and that Stats counts exactly what was decoded.
// It calls visit, if set, with every message. It returns the Stats and the number of late
// heartbeats and engages.
func checkInvariants(t *testing.T, cfg Config, visit func(d *decoded)) (Stats, int64) {
	t.Helper()
	eff := cfg.withDefaults() // surge_midnight moves Start
	start, end := eff.Start.UnixMilli(), eff.Start.Add(eff.Duration).UnixMilli()

	type order struct {
		stream, kol, brand, platform, buyer string
		amount                              schemas.Money
		refunded                            schemas.Money
	}
	type sess struct {
		stream, viewer string
		join, leave    int64
	}
	var (
		got         Stats
		orders      = map[string]*order{}
		sessions    = map[string]*sess{}
		streams     = map[string]bool{}
		viewers     = map[string]bool{}
		eventIDs    = map[string]bool{}
		maxTS       = start
		lateEngaged int64
	)
	stats := each(t, cfg, func(i int, d *decoded) {
		if visit != nil {
			visit(d)
		}
		if d.TS < start || d.TS > end {
			t.Fatalf("message %d at %v, outside the run", i, time.UnixMilli(d.TS))
		}
		if d.TS < maxTS-lateMaxMS {
			t.Fatalf("message %d is %d ms late", i, maxTS-d.TS)
		}
		got.Messages++
		if d.Bad {
			got.Bad[d.Kind]++
			return
		}
		h := d.ev.Header()
		if h.TS != d.TS {
			t.Fatalf("message %d: ts %d, Message.TS %d", i, h.TS, d.TS)
		}
		if eventIDs[h.EventID] {
			t.Fatalf("duplicate event_id %s", h.EventID)
		}
		eventIDs[h.EventID] = true
		late := d.TS < maxTS
		maxTS = max(maxTS, d.TS)
		got.Good[d.Kind]++
		streams[h.StreamID] = true
		switch d.Kind {
		case schemas.KindViewer:
			v := &d.ev.Viewer
			got.Actions[v.Action]++
			if late {
				got.Late++
				if v.Action != schemas.ActionHeartbeat && v.Action != schemas.ActionEngage {
					t.Fatalf("late %s: %s", v.Action, d.Value)
				}
				lateEngaged++
			}
			s := sessions[v.SessionID]
			switch v.Action {
			case schemas.ActionCount:
				if !strings.Contains(string(d.Value), `"reported_viewers":`) {
					t.Fatalf("count without reported_viewers: %s", d.Value)
				}
				return
			case schemas.ActionJoin:
				if s != nil {
					t.Fatalf("second join of session %s", v.SessionID)
				}
				if v.IP == "" || v.DeviceID == "" {
					t.Fatalf("join without ip or device: %s", d.Value)
				}
				sessions[v.SessionID] = &sess{stream: h.StreamID, viewer: v.ViewerID, join: d.TS}
				viewers[v.ViewerID] = true
				return
			}
			if s == nil {
				t.Fatalf("%s before the join of session %s", v.Action, v.SessionID)
			}
			if s.stream != h.StreamID || s.viewer != v.ViewerID {
				t.Fatalf("session %s moved: %s", v.SessionID, d.Value)
			}
			if d.TS < s.join {
				t.Fatalf("%s before its join: %s", v.Action, d.Value)
			}
			if v.Action == schemas.ActionLeave {
				if s.leave != 0 {
					t.Fatalf("second leave of session %s", v.SessionID)
				}
				s.leave = d.TS
			}
		case schemas.KindOrder:
			o := &d.ev.Order
			if orders[o.OrderID] != nil {
				t.Fatalf("duplicate order_id %s", o.OrderID)
			}
			if o.Amount < minPrice || o.Quantity < 1 || o.Currency != "CNY" || o.SKUID == "" {
				t.Fatalf("implausible order: %s", d.Value)
			}
			orders[o.OrderID] = &order{h.StreamID, h.KOLID, h.BrandID, h.Platform, o.BuyerID, o.Amount, 0}
			got.Orders++
			got.GMV += o.Amount
		case schemas.KindRefund:
			r := &d.ev.Refund
			o := orders[r.OrderID]
			if o == nil {
				t.Fatalf("refund of an order not generated before: %s", d.Value)
			}
			if o.stream != h.StreamID || o.kol != h.KOLID || o.brand != h.BrandID || o.platform != h.Platform || o.buyer != r.BuyerID {
				t.Fatalf("refund does not match its order %+v: %s", *o, d.Value)
			}
			if o.refunded+r.Amount > o.amount || r.Amount <= 0 || r.Reason == "" {
				t.Fatalf("refund of %s on an order of %s: %s", r.Amount, o.amount, d.Value)
			}
			o.refunded += r.Amount
			got.Refunded += r.Amount
		}
	})
	got.Streams, got.Viewers = int64(len(streams)), int64(len(viewers))
	if got != stats {
		t.Errorf("stats differ from the decoded messages:\ndecoded %+v\nstats   %+v", got, stats)
	}
	return stats, lateEngaged
}

func checkRange(t *testing.T, what string, v, lo, hi float64) {
	t.Helper()
	if v < lo || v > hi || math.IsNaN(v) {
		t.Errorf("%s = %.4f, want in [%v, %v]", what, v, lo, hi)
	}
}

// TestReportedViewers checks that the displayed counts are honest: the real audience (sessions
// heard from in the last 35 s, as a pipeline with a timeout would count them) times 1.0–1.3.
func TestReportedViewers(t *testing.T) {
	cfg := Config{Seed: 9, Start: sale.Add(-time.Hour), Duration: 8 * time.Minute, Streams: 8, Rate: 300, Disorder: -1}
	lastSeen := map[string]map[string]int64{} // stream → session → last event
	checked := 0
	each(t, cfg, func(_ int, d *decoded) {
		v := &d.ev.Viewer
		if d.Kind != schemas.KindViewer {
			return
		}
		sessions := lastSeen[v.StreamID]
		if sessions == nil {
			sessions = map[string]int64{}
			lastSeen[v.StreamID] = sessions
		}
		switch v.Action {
		case schemas.ActionLeave:
			delete(sessions, v.SessionID)
		case schemas.ActionCount:
			audience := 0
			for _, seen := range sessions {
				if seen >= d.TS-(beatMinMS+beatJitterMS+5_000) {
					audience++
				}
			}
			if d.TS-cfg.Start.UnixMilli() < warmJoinSpreadMS+beatMinMS+beatJitterMS || audience < 30 {
				return // the warm audience is still announcing itself
			}
			checked++
			checkRange(t, "reported ÷ audience of "+v.StreamID, float64(v.ReportedViewers)/float64(audience), 0.9, 1.4)
		default:
			sessions[v.SessionID] = d.TS
		}
	})
	if checked < 100 {
		t.Errorf("only %d counts checked", checked)
	}
}

// TestPopularity checks the long tail: a few streams take much of the traffic.
func TestPopularity(t *testing.T) {
	g := NewGenerator(Config{Seed: 11, Start: sale.Add(-3 * time.Hour), Duration: 2 * time.Minute, Rate: 1000})
	perStream := map[string]int{}
	platforms := map[string]int{}
	var m Message
	var ev schemas.Event
	dec := schemas.NewDecoder(schemas.DecoderConfig{PastHorizon: -1})
	for g.Next(&m) {
		perStream[string(m.Key)]++
		if err := dec.Decode(m.Kind, m.Value, sale, &ev); err == nil && ev.Viewer.Action == schemas.ActionJoin {
			platforms[ev.Viewer.Platform]++
		}
	}
	counts := make([]int, 0, len(perStream))
	for _, n := range perStream {
		counts = append(counts, n)
	}
	slicesSortDesc(counts)
	median := counts[len(counts)/2]
	if counts[0] < 8*median {
		t.Errorf("top stream %d events, median %d: not heavy-tailed (%v)", counts[0], median, counts)
	}
	if len(platforms) < 3 {
		t.Errorf("viewers on %d platforms: %v", len(platforms), platforms)
	}
}

func TestLongRunRotatesStreamsAndKOLs(t *testing.T) {
	g := NewGenerator(Config{Seed: 2, Start: sale.Add(-4 * time.Hour), Duration: 6 * time.Hour, Streams: 10, Rate: 20})
	kolStreams := map[string]map[string]bool{}
	first, last := map[string]int64{}, map[string]int64{}
	var m Message
	var ev schemas.Event
	dec := schemas.NewDecoder(schemas.DecoderConfig{PastHorizon: -1})
	for g.Next(&m) {
		if err := dec.Decode(m.Kind, m.Value, sale.Add(24*time.Hour), &ev); err != nil {
			t.Fatal(err)
		}
		h := ev.Header()
		if kolStreams[h.KOLID] == nil {
			kolStreams[h.KOLID] = map[string]bool{}
		}
		kolStreams[h.KOLID][h.StreamID] = true
		if _, ok := first[h.StreamID]; !ok {
			first[h.StreamID] = m.TS
		}
		last[h.StreamID] = m.TS
	}
	repeat := 0
	for _, s := range kolStreams {
		if len(s) > 1 {
			repeat++
		}
	}
	if len(first) < 20 || repeat == 0 {
		t.Errorf("%d streams, %d KOLs with several", len(first), repeat)
	}
	short, long := 0, 0
	for id := range first {
		switch d := time.Duration(last[id]-first[id]) * time.Millisecond; {
		case d < time.Hour:
			short++
		case d > 2*time.Hour:
			long++
		}
	}
	if short == 0 || long == 0 {
		t.Errorf("stream lifetimes: %d under an hour, %d over two", short, long)
	}
}

func TestDefaults(t *testing.T) {
	g := NewGenerator(Config{})
	c := g.cfg
	if c.Streams != 50 || c.Rate != 2000 || c.Duration != 10*time.Minute || c.Currency != "CNY" ||
		c.Disorder != 0.005 || c.BadFraction != 0 || c.Location == nil || c.Start.IsZero() {
		t.Errorf("defaults: %+v", c)
	}
	if NewGenerator(Config{Disorder: -1}).cfg.Disorder != 0 {
		t.Error("negative Disorder is not none")
	}
}

func TestCurve(t *testing.T) {
	at := func(h, m int) float64 { return CurveLevel(time.Date(2025, 11, 11, h, m, 0, 0, shanghai())) }
	midnight, evening, overnight := at(0, 1), at(21, 0), at(4, 0)
	if !(midnight > evening && evening > overnight) {
		t.Errorf("midnight %.2f, evening %.2f, overnight %.2f", midnight, evening, overnight)
	}
	for _, tc := range []struct {
		name   string
		got    float64
		lo, hi float64
	}{
		{"sale start", at(0, 0), 5, 5.5},
		{"evening peak", evening, 0.99, 1.01},
		{"night", overnight, 0.05, 0.2},
		{"half an hour in", at(0, 30), 0.9, 1.2},
		{"just before midnight", CurveLevel(time.Date(2025, 11, 10, 23, 59, 59, 0, shanghai())), 1.15, 1.25},
	} {
		if tc.got < tc.lo || tc.got > tc.hi {
			t.Errorf("%s: level %.3f, want in [%v, %v]", tc.name, tc.got, tc.lo, tc.hi)
		}
	}
	// The generator reads the curve in its Location, whatever zone t is in.
	g := NewGenerator(Config{Start: sale})
	if got, want := g.CurveLevel(sale.UTC()), CurveLevel(sale); got != want {
		t.Errorf("generator level at %v = %v, want %v", sale.UTC(), got, want)
	}
	c := newCurve(shanghai())
	for ms := sale.UnixMilli() - 86_400_000; ms < sale.UnixMilli()+86_400_000; ms += 997_000 {
		if got, want := c.level(ms), CurveLevel(time.UnixMilli(ms).In(shanghai())); math.Abs(got-want) > 1e-9 {
			t.Fatalf("cached curve at %v: %v, want %v", time.UnixMilli(ms), got, want)
		}
	}
}

// TestRateFollowsConfig checks that the event rate is Config.Rate × level, within the noise of
// which KOLs happen to be on air.
func TestRateFollowsConfig(t *testing.T) {
	start := time.Date(2025, 11, 10, 21, 0, 0, 0, shanghai()) // level 1.0
	for _, seed := range []int64{1, 2, 3} {
		g := NewGenerator(Config{Seed: seed, Start: start, Duration: 3 * time.Minute, Rate: 1000})
		var m Message
		for g.Next(&m) {
		}
		rate := float64(g.Stats().Messages) / 180
		checkRange(t, fmt.Sprintf("seed %d events/s at level 1", seed), rate/1000, 0.85, 1.15)
	}
}

func BenchmarkGenerator(b *testing.B) {
	cfg := Config{Seed: 1, Start: sale.Add(-30 * time.Minute), Duration: 24 * time.Hour}
	g := NewGenerator(cfg)
	var m Message
	var size int64
	for range 10_000 {
		g.Next(&m)
		size += int64(len(m.Key) + len(m.Value))
	}
	b.SetBytes(size / 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if !g.Next(&m) {
			b.Fatal("generator exhausted")
		}
	}
}
