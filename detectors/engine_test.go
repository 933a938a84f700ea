package detectors

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/livepulse/livepulse/schemas"
)

// One episode is one flag: opened once, emitted again when it worsens, closed once it has been
// clean for close_after evaluations — not one flag per window.
func TestOneFlagPerEpisode(t *testing.T) {
	s := &streamCfg{ID: "episode", Start: t0, End: t0 + 40*minute, Rate: constRate(6), Carrier: 0.3,
		Inflate: func(ts int64) float64 {
			switch {
			case ts >= t0+12*minute && ts < t0+17*minute:
				return 4.5
			case ts >= t0+17*minute && ts < t0+22*minute:
				return 10
			}
			return 1
		}}
	flags := run(t, DefaultConfig(), build(3, s), 1000, 10*minute)
	if len(flags) < 3 {
		t.Fatalf("want open, update(s), close; got:%s", describeFlags(flags))
	}
	first, last := flags[0], flags[len(flags)-1]
	for i, f := range flags {
		if f.FlagID != first.FlagID || f.Kind != KindViewerInflation {
			t.Fatalf("flag %d is another flag or kind:%s", i, describeFlags(flags))
		}
		if want := StateOpen; i < len(flags)-1 && f.State != want {
			t.Errorf("flag %d: state %s, want open", i, f.State)
		}
		if i > 0 && (f.DetectedAt <= flags[i-1].DetectedAt || f.Score < flags[i-1].Score || f.WindowStart != first.WindowStart) {
			t.Errorf("flag %d does not update the episode:%s", i, describeFlags(flags))
		}
	}
	if first.Severity == SeverityCritical || !slices.ContainsFunc(flags, func(f Flag) bool { return f.Severity == SeverityCritical }) {
		t.Errorf("want a warning raised to critical when the inflation grows:%s", describeFlags(flags))
	}
	if last.State != StateClosed {
		t.Fatalf("last emission is %s, want closed", last.State)
	}
	// While open it is emitted at least every refresh_every (1 min), so the stored window_end is
	// current, even when the score does not grow.
	for i := 1; i < len(flags)-1; i++ {
		if gap := flags[i].DetectedAt - flags[i-1].DetectedAt; gap > minute {
			t.Errorf("open flag not emitted for %ds (emissions %d and %d)", gap/1000, i-1, i)
		}
	}
	// Closed once the median ratio is clean again (a few evaluations after +1320 s) plus 6 clean
	// evaluations; the window ends at the last anomalous evaluation.
	if last.WindowEnd < t0+22*minute || last.WindowEnd > t0+23*minute || last.DetectedAt != last.WindowEnd+6*10_000 {
		t.Errorf("closed at +%ds with window end +%ds", (last.DetectedAt-t0)/1000, (last.WindowEnd-t0)/1000)
	}
	if first.FlagID != flagID(KindViewerInflation, "episode", first.DetectedAt) || len(first.FlagID) != 32 {
		t.Errorf("flag id %s is not the hash of kind, stream and start", first.FlagID)
	}
}

// The same events give the same flags — the same ids, windows, scores and evidence, in the same
// order — whatever the cadence of Advance and the watermark's lag.
func TestCadenceIndependence(t *testing.T) {
	streams := []*streamCfg{
		{ID: "a-inflated", Start: t0, End: t0 + 30*minute, Rate: constRate(3), Carrier: 0.3,
			Inflate: func(ts int64) float64 { return 1 + 7*float64(min(max(ts-t0-10*minute, 0), 5*minute))/float64(5*minute) }},
		{ID: "b-farmed", Start: t0 + 2*minute, End: t0 + 35*minute, Rate: constRate(2), Carrier: 0.3,
			Extra: botFarm(t0+15*minute, 60*second, 2500, 20)},
		{ID: "c-refunds", Start: t0, End: t0 + 40*minute, Rate: constRate(0.5),
			Extra: refundFraud(t0+12*minute, t0+20*minute, 80, 75)},
		{ID: "d-brushed", Start: t0, End: t0 + 40*minute, Rate: constRate(1),
			Extra: brushers(t0+10*minute, t0+30*minute, 5, 40, 4990)},
		{ID: "e-honest", Start: t0, End: t0 + 40*minute, Rate: constRate(4), Carrier: 0.3},
	}
	evs := build(21, streams...)
	ref := run(t, DefaultConfig(), evs, 0, 2*60*minute) // one Advance at the very end
	kinds := map[string]bool{}
	for _, f := range ref {
		kinds[f.Kind+" "+f.StreamID] = true
	}
	for _, want := range []string{"viewer_inflation a-inflated", "viewer_inflation b-farmed", "refund_spike c-refunds", "order_brushing d-brushed"} {
		if !kinds[want] {
			t.Errorf("reference run lacks %s:%s", want, describeFlags(ref))
		}
	}
	want, _ := json.Marshal(ref)
	for _, c := range []struct {
		every int
		lag   int64
	}{{1, 5000}, {1, 2000}, {997, 5000}, {20_011, 3000}, {150_000, 5000}} {
		got, s := runLag(t, DefaultConfig(), evs, c.every, c.lag, 2*60*minute)
		if s.Streams != 0 || s.Waiting != 0 || s.State != 0 || s.OpenFlags != 0 {
			t.Errorf("after two idle hours: %+v, want everything forgotten", s)
		}
		if b, _ := json.Marshal(got); string(b) != string(want) {
			t.Errorf("advance every %d events, lag %d ms: %d flags differ from the reference's %d:%s\nwant:%s",
				c.every, c.lag, len(got), len(ref), describeFlags(got), describeFlags(ref))
		}
	}
}

// Events behind the last evaluation are late: counted, not used.
func TestLateEventsAreDropped(t *testing.T) {
	e := NewEngine(DefaultConfig())
	ev := schemas.Event{Kind: schemas.KindOrder, Order: schemas.Order{
		Header: schemas.Header{TS: t0 + 5000, StreamID: "s"}, OrderID: "o1", BuyerID: "b", Amount: 100,
	}}
	e.Observe(&ev)
	if s := e.Stats(); s.Waiting != 1 {
		t.Fatalf("stats %+v, want the order waiting", s)
	}
	if got := e.Advance(t0 + 35_000); len(got) != 0 {
		t.Fatalf("flags %v", got)
	}
	ev.Order.TS, ev.Order.OrderID = t0+20_000, "o2" // before the evaluation at t0+30 s
	e.Observe(&ev)
	ev.Order.TS, ev.Order.OrderID = t0+31_000, "o3" // in the next step: straight to the detectors
	e.Observe(&ev)
	ev.Order.TS, ev.Order.OrderID = t0+45_000, "o4" // a later step: waits
	e.Observe(&ev)
	if s := e.Stats(); s.Late != 1 || s.Waiting != 1 || s.Streams != 1 {
		t.Fatalf("stats %+v, want 1 late, 1 waiting, 1 stream", s)
	}
	if e.Watermark() != t0+35_000 || e.Advance(t0) != nil || e.Watermark() != t0+35_000 {
		t.Fatalf("a lower watermark must change nothing")
	}
}

// A watermark far ahead of the events (an idle partition) costs no evaluation per step of the gap,
// and state stays bounded: idle streams are forgotten.
func TestIdleGapsAndEviction(t *testing.T) {
	cfg := DefaultConfig()
	e := NewEngine(cfg)
	var ev schemas.Event
	ev.Kind = schemas.KindViewer
	for i := range 1000 {
		ev.Viewer = schemas.Viewer{Header: schemas.Header{TS: t0 + int64(i)*100, StreamID: "s"}, Action: schemas.ActionJoin,
			ViewerID: "v" + string(rune('a'+i%26)) + string(rune('a'+i/26)), DeviceID: "d", IP: "1.2.3.4"}
		e.Observe(&ev)
	}
	e.Advance(t0 + 60_000)
	if s := e.Stats(); s.Streams != 1 || s.State == 0 {
		t.Fatalf("stats %+v", s)
	}
	e.Advance(t0 + 2*60*minute)
	if s := e.Stats(); s.Streams != 0 || s.State != 0 || s.OpenFlags != 0 {
		t.Fatalf("after 2 idle hours: %+v", s)
	}
	// A year of silence: the engine jumps over it.
	e.Advance(t0 + 365*24*60*minute)
	ev.Viewer.TS = t0 + 365*24*60*minute + 5
	e.Observe(&ev)
	e.Advance(ev.Viewer.TS + 20_000)
	if s := e.Stats(); s.Streams != 1 || s.Late != 0 {
		t.Fatalf("after the gap: %+v", s)
	}
}

// Flags serialize with the field names of the contract.
func TestFlagJSON(t *testing.T) {
	f := Flag{FlagID: "id", Kind: KindRefundSpike, StreamID: "s", Severity: SeverityWarning, Score: 0.5, State: StateOpen,
		Evidence: Evidence{Summary: "x", Fired: []string{"refund_rate"}, Signals: map[string]float64{"orders": 3}, Baseline: map[string]float64{}}}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"flag_id", "kind", "stream_id", "kol_id", "brand_id", "platform", "severity", "score",
		"window_start", "window_end", "detected_at", "state", "evidence"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
	ev := m["evidence"].(map[string]any)
	for _, k := range []string{"summary", "fired", "signals", "baseline"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("evidence JSON lacks %s: %s", k, b)
		}
	}
}
