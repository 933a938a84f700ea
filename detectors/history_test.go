package detectors

import (
	"math"
	"strings"
	"testing"

	"github.com/livepulse/livepulse/schemas"
)

// runWithHistory is run, answering the engine's history requests with history before each
// Advance, as the rollup stage and replay do from the store.
func runWithHistory(t *testing.T, cfg Config, evs []tev, history func(HistoryKey) History) ([]Flag, []HistoryKey) {
	t.Helper()
	e := NewEngine(cfg)
	var out []Flag
	var asked []HistoryKey
	var ev schemas.Event
	newest := int64(math.MinInt64)
	advance := func(w int64) {
		for _, k := range e.MissingHistory() {
			asked = append(asked, k)
			e.SetHistory(k, history(k))
		}
		out = append(out, e.Advance(w)...)
	}
	for i := range evs {
		evs[i].event(&ev)
		e.Observe(&ev)
		newest = max(newest, evs[i].ts)
		if (i+1)%1000 == 0 {
			advance(newest - 5000)
		}
	}
	advance(newest + 10*minute)
	return out, asked
}

// A new stream has no baseline of its own: its KOL's history stands in for the prior. The same
// refunds — 12 of 30 orders within minutes — flag against the 5 % prior and against a KOL who
// usually has 3 %, and do not against a KOL whose buyers usually cancel 20 % (a category with
// many quick cancellations): 40 % is not far above 20 %.
func TestRefundSpikeAgainstKOLHistory(t *testing.T) {
	s := &streamCfg{ID: "newcomer", Start: t0, End: t0 + 40*minute, Rate: constRate(0.2), Carrier: 0.3,
		Extra: refundFraud(t0+10*minute, t0+20*minute, 30, 14)}
	evs := build(11, s)
	kol := "kol-newcomer"
	f := func(history func(HistoryKey) History, wantFlag bool, wantText string) {
		t.Helper()
		flags, asked := runWithHistory(t, DefaultConfig(), evs, history)
		rs := flagsOf(flags, KindRefundSpike, "newcomer")
		if (len(rs) > 0) != wantFlag {
			t.Fatalf("flagged %v, want %v:%s", len(rs) > 0, wantFlag, describeFlags(rs))
		}
		if wantFlag && !strings.Contains(rs[0].Evidence.Summary, wantText) {
			t.Errorf("evidence %q lacks %q", rs[0].Evidence.Summary, wantText)
		}
		day := int64(math.Floor(float64(t0)/dayMS)) * dayMS
		want := map[HistoryKey]bool{{ScopeKOL, kol, day}: true, {ScopeBrand, "brand-1", day}: true}
		for _, k := range asked {
			if !want[k] {
				t.Errorf("asked for %+v, want only %v", k, want)
			}
			delete(want, k)
		}
		if len(want) > 0 {
			t.Errorf("never asked for %v (asked %v)", want, asked)
		}
	}
	none := func(HistoryKey) History { return History{} }
	kolAt := func(orders, refunded int64) func(HistoryKey) History {
		return func(k HistoryKey) History {
			if k.Scope == ScopeKOL && k.ID == kol {
				return History{Orders: orders, Refunded: refunded}
			}
			return History{Orders: 100_000, Refunded: 20_000} // the brand: never used when the KOL has one
		}
	}
	f(none, true, "the 5 % honest streams usually see")
	f(kolAt(2000, 60), true, "its kol usually has 3 % of orders refunded within 30 min (over 2,000 orders in the 30 days before)")
	f(kolAt(2000, 400), false, "")
	f(kolAt(50, 25), false, "") // too few of the KOL's orders: the brand's 20 % stands in
}
