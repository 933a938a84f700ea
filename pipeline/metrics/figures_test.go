package metrics

import (
	"testing"

	"github.com/livepulse/livepulse/schemas"
)

// ev is shorthand for a list of events.
func ev(e ...*schemas.Event) []*schemas.Event { return e }

// figureCase checks one figure of stream "s" per minute (index relative to t0) after the events
// are added and flushed; a minute absent from want must have no row or 0.
type figureCase struct {
	name string
	in   []*schemas.Event
	want map[int]uint64
}

func checkFigure(t *testing.T, figure string, get func(MinuteRow) uint64, cfg Config, cases []figureCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(figure+"/"+c.name, func(t *testing.T) {
			rows := final(t, cfg, nil, c.in...)
			for k, r := range rows {
				if k.stream != "s" {
					continue
				}
				m := int((k.minute - t0) / minuteMS)
				if got, want := get(r), c.want[m]; got != want {
					t.Errorf("minute %d: %s = %d, want %d", m, figure, got, want)
				}
			}
			for m, want := range c.want {
				if _, ok := rows.row("s", m); !ok && want != 0 {
					t.Errorf("minute %d: no row, want %s = %d", m, figure, want)
				}
			}
		})
	}
}

func TestOrderFigures(t *testing.T) {
	f := func(figure string, get func(MinuteRow) uint64, cases ...figureCase) {
		checkFigure(t, figure, get, Config{}, cases)
	}
	twoMinutes := ev(
		order("s", "o1", "b1", 1000, at(0, 1)), order("s", "o2", "b1", 250, at(0, 59.999)),
		order("s", "o3", "b2", 1, at(1, 0)), order("other", "o4", "b1", 7, at(0, 5)),
	)
	f("orders", func(r MinuteRow) uint64 { return r.Orders },
		figureCase{"none", nil, nil},
		figureCase{"per minute, minute boundary exclusive", twoMinutes, map[int]uint64{0: 2, 1: 1}},
		figureCase{"same order id twice counts twice (SQL count)", ev(order("s", "o", "b", 1, at(0, 1)), order("s", "o", "b", 1, at(0, 2))), map[int]uint64{0: 2}},
	)
	f("gmv", func(r MinuteRow) uint64 { return uint64(r.GMV) },
		figureCase{"exact cents", twoMinutes, map[int]uint64{0: 1250, 1: 1}},
		figureCase{"large sums stay exact", ev(order("s", "o1", "b", schemas.MaxMoney, at(0, 1)), order("s", "o2", "b", schemas.MaxMoney, at(0, 2)), order("s", "o3", "b", 1, at(0, 3))),
			map[int]uint64{0: 2*uint64(schemas.MaxMoney) + 1}},
	)
	f("buyers", func(r MinuteRow) uint64 { return r.Buyers },
		figureCase{"distinct per minute", twoMinutes, map[int]uint64{0: 1, 1: 1}},
		figureCase{"three buyers", ev(order("s", "o1", "a", 1, at(0, 1)), order("s", "o2", "b", 1, at(0, 2)), order("s", "o3", "c", 1, at(0, 3)), order("s", "o4", "a", 1, at(0, 4))), map[int]uint64{0: 3}},
	)
}

func TestViewerFigures(t *testing.T) {
	f := func(figure string, get func(MinuteRow) uint64, cases ...figureCase) {
		checkFigure(t, figure, get, Config{}, cases)
	}
	mix := ev(
		join("s", "v1", "x1", at(0, 1)), beat("s", "v1", "x1", at(0, 20)), engage("s", "v1", "x1", at(0, 25)),
		join("s", "v2", "", at(0, 30)), engage("s", "v2", "", at(0, 31)), leave("s", "v2", "", at(0, 40)),
		countEv("s", 500, at(0, 10)), countEv("s", 700, at(0, 50)), countEv("s", 600, at(0, 45)),
		beat("s", "v1", "x1", at(1, 10)), countEv("s", 800, at(1, 0)),
	)
	f("joins", func(r MinuteRow) uint64 { return r.Joins },
		figureCase{"counted", mix, map[int]uint64{0: 2}},
		figureCase{"a second join of an open session still counts", ev(join("s", "v", "x", at(0, 1)), join("s", "v", "x", at(0, 2))), map[int]uint64{0: 2}},
	)
	f("leaves", func(r MinuteRow) uint64 { return r.Leaves },
		figureCase{"counted", mix, map[int]uint64{0: 1}},
		figureCase{"a leave of an unknown session still counts", ev(leave("s", "v", "x", at(0, 1))), map[int]uint64{0: 1}},
	)
	f("heartbeats", func(r MinuteRow) uint64 { return r.Heartbeats },
		figureCase{"counted", mix, map[int]uint64{0: 1, 1: 1}})
	f("engagements", func(r MinuteRow) uint64 { return r.Engagements },
		figureCase{"counted", mix, map[int]uint64{0: 2}})
	f("count_events", func(r MinuteRow) uint64 { return r.CountEvents },
		figureCase{"counted", mix, map[int]uint64{0: 3, 1: 1}})
	f("reported_viewers", func(r MinuteRow) uint64 { return r.ReportedViewers },
		figureCase{"the count with the greatest ts, not the last added", mix, map[int]uint64{0: 700, 1: 800}},
		figureCase{"ties: the later added", ev(countEv("s", 5, at(0, 3)), countEv("s", 9, at(0, 3)), countEv("s", 7, at(0, 2))), map[int]uint64{0: 9}},
		figureCase{"none: 0", ev(join("s", "v", "", at(0, 1))), map[int]uint64{0: 0}},
		figureCase{"a count of 0 is a count", ev(countEv("s", 5, at(0, 3)), countEv("s", 0, at(0, 4))), map[int]uint64{0: 0}},
	)
	f("unique_viewers", func(r MinuteRow) uint64 { return r.UniqueViewers },
		figureCase{"distinct viewer ids, count events excluded", mix, map[int]uint64{0: 2, 1: 1}},
		figureCase{"viewer id, not session id", ev(join("s", "v", "x1", at(0, 1)), join("s", "v", "x2", at(0, 2)), beat("s", "w", "x1", at(0, 3))), map[int]uint64{0: 2}},
	)
}

func TestSessionFigures(t *testing.T) {
	cfg := Config{SessionTimeout: 60e9}
	f := func(figure string, get func(MinuteRow) uint64, cases ...figureCase) {
		checkFigure(t, figure, get, cfg, cases)
	}
	// v1 joins at 0:10 and leaves at 0:40; v2 joins at 0:20 and beats at 0:50, then vanishes:
	// it times out at 1:50 (last seen 0:50); v3 joins at 0:30 and beats every 30 s until 2:30.
	three := ev(
		join("s", "v1", "a", at(0, 10)), join("s", "v2", "b", at(0, 20)), join("s", "v3", "c", at(0, 30)),
		leave("s", "v1", "a", at(0, 40)), beat("s", "v2", "b", at(0, 50)),
		beat("s", "v3", "c", at(1, 0)), beat("s", "v3", "c", at(1, 30)), beat("s", "v3", "c", at(2, 0)), beat("s", "v3", "c", at(2, 30)),
	)
	f("concurrent_viewers", func(r MinuteRow) uint64 { return r.ConcurrentViewers },
		figureCase{"open at the minute's end", three, map[int]uint64{0: 2, 1: 1, 2: 1}},
		figureCase{"a timed-out session is not open", ev(join("s", "v", "", at(0, 10)), countEv("s", 1, at(1, 30))), map[int]uint64{0: 1, 1: 0}},
		figureCase{"heartbeat opens implicitly", ev(beat("s", "v", "", at(0, 10))), map[int]uint64{0: 1}},
		figureCase{"a leave at the first instant of the next minute", ev(join("s", "v", "", at(0, 10)), leave("s", "v", "", at(1, 0))), map[int]uint64{0: 1, 1: 0}},
		figureCase{"a join at the first instant of the next minute", ev(countEv("s", 1, at(0, 1)), join("s", "v", "", at(1, 0))), map[int]uint64{0: 0, 1: 1}},
	)
	f("peak_concurrent_viewers", func(r MinuteRow) uint64 { return r.PeakConcurrent },
		figureCase{"peak above the end", three, map[int]uint64{0: 3, 1: 2, 2: 1}},
		figureCase{"peak vs end: three in, two out", ev(
			join("s", "v1", "", at(0, 10)), join("s", "v2", "", at(0, 20)), join("s", "v3", "", at(0, 30)),
			leave("s", "v1", "", at(0, 40)), leave("s", "v2", "", at(0, 50))), map[int]uint64{0: 3}},
		figureCase{"a session timed out before the moment does not count", ev(
			join("s", "v1", "", at(0, 5)), join("s", "v2", "", at(1, 10))), map[int]uint64{0: 1, 1: 1}},
		figureCase{"closes and opens at the same instant", ev(
			join("s", "v1", "", at(0, 10)), leave("s", "v1", "", at(0, 20)), join("s", "v2", "", at(0, 20))), map[int]uint64{0: 1}},
		figureCase{"carried in and gone at the first instant", ev(
			join("s", "v1", "", at(0, 10)), join("s", "v2", "", at(0, 20)), leave("s", "v1", "", at(1, 0)), leave("s", "v2", "", at(1, 0))),
			map[int]uint64{0: 2, 1: 0}},
	)
	f("sessions_ended", func(r MinuteRow) uint64 { return r.SessionsEnded },
		figureCase{"leave in its minute, timeout in last_seen's minute", three, map[int]uint64{0: 2, 2: 1}},
		figureCase{"a second join refreshes, one session", ev(join("s", "v", "x", at(0, 1)), join("s", "v", "x", at(0, 30)), leave("s", "v", "x", at(1, 5))), map[int]uint64{1: 1}},
		figureCase{"a heartbeat after the timeout is a new session", ev(join("s", "v", "x", at(0, 1)), beat("s", "v", "x", at(1, 1.001))), map[int]uint64{0: 1, 1: 1}},
		figureCase{"a heartbeat just before the timeout keeps it", ev(join("s", "v", "x", at(0, 1)), beat("s", "v", "x", at(1, 0.999))), map[int]uint64{1: 1}},
		figureCase{"an empty session id keys by viewer", ev(join("s", "v", "", at(0, 1)), beat("s", "v", "", at(0, 30)), leave("s", "v", "", at(0, 50))), map[int]uint64{0: 1}},
		figureCase{"a leave of an unknown session ends nothing", ev(leave("s", "v", "x", at(0, 1))), map[int]uint64{0: 0}},
	)
	f("watch_ms_ended", func(r MinuteRow) uint64 { return r.WatchMSEnded },
		figureCase{"leave: leave − join; timeout: last_seen − join", three, map[int]uint64{0: 30_000 + 30_000, 2: 120_000}},
		figureCase{"join only: 0", ev(join("s", "v", "x", at(0, 1))), map[int]uint64{0: 0}},
		figureCase{"an out-of-order older event moves the join back", ev(beat("s", "v", "x", at(0, 30)), join("s", "v", "x", at(0, 27)), leave("s", "v", "x", at(0, 40))), map[int]uint64{0: 13_000}},
	)
}

func TestRefundFigures(t *testing.T) {
	orders := ev(
		order("s", "o1", "b1", 5000, at(0, 1)), order("s", "o2", "b2", 3000, at(0, 2)),
		order("t", "o3", "b3", 900, at(0, 3)),
	)
	store := &fakeStore{orders: map[string]OrderRef{
		"old": {StreamID: "s", KOLID: "kol-s", BrandID: "brand", Platform: "tiktok", Amount: 10_000, TS: at(-600, 0)},
		"far": {StreamID: "remote", KOLID: "kol-r", BrandID: "b-r", Platform: "p-r", Amount: 42, TS: at(-60, 0)},
	}}
	f := func(name string, in []*schemas.Event, want map[rowKey]MinuteRow) {
		t.Run(name, func(t *testing.T) {
			rows := final(t, Config{}, store.lookup, append(append([]*schemas.Event{}, orders...), in...)...)
			for k, w := range want {
				g := rows[k]
				if g.Refunds != w.Refunds || g.RefundAmount != w.RefundAmount || g.RefundedOrders != w.RefundedOrders ||
					g.UnmatchedRefunds != w.UnmatchedRefunds || g.UnmatchedRefundAmount != w.UnmatchedRefundAmount {
					t.Errorf("%v: refunds %d/%v/%d unmatched %d/%v, want %d/%v/%d unmatched %d/%v", k,
						g.Refunds, g.RefundAmount, g.RefundedOrders, g.UnmatchedRefunds, g.UnmatchedRefundAmount,
						w.Refunds, w.RefundAmount, w.RefundedOrders, w.UnmatchedRefunds, w.UnmatchedRefundAmount)
				}
				if w.KOLID != "" && (g.KOLID != w.KOLID || g.BrandID != w.BrandID || g.Platform != w.Platform) {
					t.Errorf("%v: labels %q %q %q, want %q %q %q", k, g.KOLID, g.BrandID, g.Platform, w.KOLID, w.BrandID, w.Platform)
				}
			}
		})
	}
	k := func(stream string, m int) rowKey { return rowKey{stream, t0 + int64(m)*minuteMS} }
	f("order in memory, refund minute not order minute", ev(refund("s", "r1", "o1", 1000, at(2, 5)), refund("s", "r2", "o1", 500, at(2, 6)), refund("s", "r3", "o2", 3000, at(2, 7))),
		map[rowKey]MinuteRow{k("s", 2): {Refunds: 3, RefundAmount: 4500, RefundedOrders: 2}, k("s", 0): {}})
	f("attributed to the order's stream, not the refund's", ev(refund("s", "r1", "o3", 900, at(1, 0))),
		map[rowKey]MinuteRow{k("t", 1): {Refunds: 1, RefundAmount: 900, RefundedOrders: 1}, k("s", 1): {}})
	f("via lookup, with the OrderRef's labels", ev(refund("s", "r1", "old", 100, at(1, 0)), refund("s", "r2", "far", 42, at(1, 1))),
		map[rowKey]MinuteRow{
			k("s", 1):      {Refunds: 1, RefundAmount: 100, RefundedOrders: 1},
			k("remote", 1): {Refunds: 1, RefundAmount: 42, RefundedOrders: 1, KOLID: "kol-r", BrandID: "b-r", Platform: "p-r"},
		})
	f("never found: unmatched on the refund's own stream", ev(refund("t", "r1", "nope", 77, at(1, 0)), refund("t", "r2", "nope2", 23, at(1, 30))),
		map[rowKey]MinuteRow{k("t", 1): {UnmatchedRefunds: 2, UnmatchedRefundAmount: 100}})
	f("order added after its refund", ev(refund("s", "r1", "o9", 10, at(1, 0)), order("s", "o9", "b", 10, at(0, 59))),
		map[rowKey]MinuteRow{k("s", 1): {Refunds: 1, RefundAmount: 10, RefundedOrders: 1}})
}

// TestRefundLookupBatching: one lookup per Advance, sorted ids, at most twice per refund, retried
// after an error, unmatched when the error persists until the minute is final.
func TestRefundLookupBatching(t *testing.T) {
	ctx := t.Context()
	store := &fakeStore{orders: map[string]OrderRef{"late-found": {StreamID: "s", KOLID: "kol-s", TS: at(-100, 0)}}}
	sh := NewShard(0, Config{}, store.lookup)
	sh.Add(refund("s", "r1", "zzz", 1, at(0, 1)), at(0, 0))
	sh.Add(refund("s", "r2", "aaa", 2, at(0, 2)), at(0, 0))
	sh.Add(refund("s", "r3", "aaa", 3, at(0, 3)), at(0, 0))
	store.fail = 1
	sh.Advance(ctx, at(0, 10)) // error: nothing resolved
	sh.Advance(ctx, at(0, 20)) // retried: not found, asked
	sh.Advance(ctx, at(0, 30)) // nothing to ask
	sh.Add(refund("s", "r4", "late-found", 4, at(0, 40)), at(0, 35))
	sh.Advance(ctx, at(0, 50)) // only the new one
	if got, want := len(store.calls), 3; got != want {
		t.Fatalf("%d lookups, want %d: %v", got, want, store.calls)
	}
	if got := store.calls[0]; len(got) != 2 || got[0] != "aaa" || got[1] != "zzz" {
		t.Fatalf("first lookup %v, want sorted distinct ids", got)
	}
	if got := store.calls[2]; len(got) != 1 || got[0] != "late-found" {
		t.Fatalf("third lookup %v", got)
	}
	store.fail = 1
	rows := emissions{}
	rows.add(t, sh.Advance(ctx, at(2, 0))) // minute 0 final: last chance fails: unmatched
	r := rows[rowKey{"s", t0}]
	if r.UnmatchedRefunds != 3 || r.UnmatchedRefundAmount != 6 || r.Refunds != 1 || r.RefundAmount != 4 {
		t.Fatalf("row %+v", r)
	}
	if len(store.calls) != 4 || sh.Stats().PendingRefunds != 0 || sh.Stats().LookupErrors != 2 {
		t.Fatalf("calls %v, stats %+v", store.calls, sh.Stats())
	}
}
