package detectors

import (
	"math"
	"strconv"
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

// A bot farm running from a stream's first minute leaves no clean stretch to learn the stream's
// engagement from: 2,000 accounts on 100 phones, each on its own /24, heartbeating like apps do
// joining over its first 10 minutes and staying on. Only device_concentration fires on the stream alone — no flag. Measured against
// its KOL's usual engagement per viewer-minute, the collapse corroborates it: a flag, naming the
// KOL's level. A KOL whose audiences rarely engage, or too thin a history, leaves it unflagged.
func TestEngagementAgainstKOLHistory(t *testing.T) {
	farm := func(g *traffic, s *streamCfg) {
		for i := range 2000 {
			dev := i % 100
			join := s.Start + g.rng.Int64N(10*minute)
			viewer, session := "bot-"+strconv.Itoa(i), g.id("bot-s")
			g.viewer(s, join, schemas.ActionJoin, viewer, session, "farm-dev"+strconv.Itoa(dev), "45."+strconv.Itoa(dev)+".7.9")
			for hb := join + 20*second; hb < s.End; hb += 20 * second {
				g.viewer(s, hb, schemas.ActionHeartbeat, viewer, session, "", "")
			}
		}
	}
	s := &streamCfg{ID: "farmed-from-start", Start: t0, End: t0 + 15*minute, Rate: constRate(4), Carrier: 0.3, Extra: farm}
	evs := build(5, s)
	kol := "kol-farmed-from-start"
	f := func(history func(HistoryKey) History, wantFlag bool, wantText string) {
		t.Helper()
		flags, _ := runWithHistory(t, DefaultConfig(), evs, history)
		vi := flagsOf(flags, KindViewerInflation, s.ID)
		if (len(vi) > 0) != wantFlag {
			t.Fatalf("flagged %v, want %v:%s", len(vi) > 0, wantFlag, describeFlags(vi))
		}
		if wantFlag {
			if !contains(vi[0].Evidence.Fired, "engagement_collapse") || !strings.Contains(vi[0].Evidence.Summary, wantText) {
				t.Errorf("evidence %v %q lacks engagement_collapse / %q", vi[0].Evidence.Fired, vi[0].Evidence.Summary, wantText)
			}
			t.Log(describeFlags(vi[:1]))
		}
	}
	kolAt := func(minutes, engagements int64) func(HistoryKey) History {
		return func(k HistoryKey) History {
			if k.Scope == ScopeKOL && k.ID == kol {
				return History{ViewerMinutes: minutes, Engagements: engagements}
			}
			return History{}
		}
	}
	f(func(HistoryKey) History { return History{} }, false, "")
	f(kolAt(2_000_000, 800_000), true, "the 0.4 its kol's streams usually have (over 2,000,000 viewer-minutes in the 30 days before)")
	f(kolAt(2_000_000, 60_000), false, "") // 0.03 per viewer-minute: the farm's level is not far below it
	f(kolAt(5_000, 2_000), false, "")      // too thin a history
}
