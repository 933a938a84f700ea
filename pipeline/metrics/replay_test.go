package metrics

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/window"
	"github.com/livepulse/livepulse/schemas"
)

// traffic generates a deterministic mix of viewer sessions, displayed counts, orders and refunds
// on a few streams, delivered in event-time order except for viewer events held back up to 3 s
// (as mobile clients do). Within a session events are ≥ 4 s apart, so the hold-backs never reorder
// one session's events. Refunds reference orders of the traffic (sometimes from another stream's
// refund event), orders only the store knows, and orders nobody knows.
func traffic(seed uint64, minutes int) ([]*schemas.Event, *fakeStore) {
	rng := rand.New(rand.NewPCG(seed, 99))
	type timed struct {
		ev    *schemas.Event
		deliv int64
		seq   int
	}
	var out []timed
	emit := func(e *schemas.Event, delay int64) {
		out = append(out, timed{e, e.Header().TS + delay, len(out)})
	}
	end := at(minutes, 0)
	streams := []string{"s1", "s2", "s3", "s4", "s5"}
	store := &fakeStore{orders: map[string]OrderRef{}}
	for i := range 20 {
		sid := "s1"
		if i%2 == 1 {
			sid = "remote"
		}
		store.orders[fmt.Sprint("old-", i)] = OrderRef{StreamID: sid, KOLID: "kol-" + sid, BrandID: "brand", Platform: "tiktok", Amount: 100, TS: at(-300, 0)}
	}
	nOrder, nRefund := 0, 0
	for si, s := range streams {
		for ts := at(0, float64(si)); ts < end; ts += 10_000 {
			emit(countEv(s, uint64(rng.IntN(1000)), ts), 0)
		}
		// Sessions.
		for n := range 150 {
			viewer, session := fmt.Sprintf("v-%s-%d", s, rng.IntN(45)), fmt.Sprintf("x-%s-%d", s, n)
			if rng.IntN(10) < 3 { // keyed by viewer id: give it a viewer of its own
				viewer, session = fmt.Sprintf("anon-%s-%d", s, n), ""
			}
			t := at(0, 0) + rng.Int64N(int64(minutes-1)*minuteMS)
			life := t + 30_000 + rng.Int64N(6*minuteMS)
			delay := func() int64 {
				if rng.IntN(20) == 0 {
					return rng.Int64N(3001)
				}
				return 0
			}
			if rng.IntN(5) > 0 {
				emit(join(s, viewer, session, t), 0)
			} else {
				emit(beat(s, viewer, session, t), delay())
			}
			last := t
			for {
				gap := 4_000 + rng.Int64N(41_000)
				if rng.IntN(20) == 0 {
					gap = 61_000 + rng.Int64N(20_000) // times out, then comes back
				}
				next := last + gap
				if next >= life || next >= end-10_000 {
					break
				}
				if rng.IntN(10) < 3 {
					emit(engage(s, viewer, session, next), delay())
				} else {
					emit(beat(s, viewer, session, next), delay())
				}
				last = next
			}
			if lt := last + 4_000 + rng.Int64N(20_000); rng.IntN(10) < 6 && lt < end {
				emit(leave(s, viewer, session, lt), 0)
			}
		}
		// Orders and their refunds.
		for ts := at(0, 0) + rng.Int64N(5_000); ts < end; ts += 1 + rng.Int64N(10_000) {
			nOrder++
			id := fmt.Sprint("o-", nOrder)
			amount := schemas.Money(1 + rng.Int64N(50_000))
			emit(order(s, id, fmt.Sprint("b-", rng.IntN(30)), amount, ts), 0)
			if rng.IntN(10) < 3 {
				rts := ts + 30_000 + rng.Int64N(5*minuteMS)
				if rts < end {
					nRefund++
					rs := s
					if rng.IntN(10) == 0 {
						rs = streams[(si+1)%len(streams)] // read on another stream: attributed to s
					}
					emit(refund(rs, fmt.Sprint("r-", nRefund), id, schemas.Money(1+rng.Int64N(int64(amount))), rts), 0)
				}
			}
		}
		for ts := at(0, 30); ts < end; ts += 20_000 + rng.Int64N(60_000) {
			nRefund++
			target := fmt.Sprint("old-", rng.IntN(20))
			if rng.IntN(4) == 0 {
				target = fmt.Sprint("unknown-", rng.IntN(5))
			}
			emit(refund(s, fmt.Sprint("r-", nRefund), target, 1+schemas.Money(rng.Int64N(100)), ts), 0)
		}
	}
	slices.SortFunc(out, func(a, b timed) int { return cmp.Or(cmp.Compare(a.deliv, b.deliv), cmp.Compare(a.seq, b.seq)) })
	evs := make([]*schemas.Event, len(out))
	for i, t := range out {
		evs[i] = t.ev
	}
	return evs, store
}

// replay feeds events to a new shard, advancing every `every` events (0: never) on the watermark
// of a window.Watermarks that observes them (wall clock = event time), then flushes. It returns
// every call's rows and the last emission of each row.
func replay(t *testing.T, events []*schemas.Event, store *fakeStore, every int, useWatermark bool) ([][]MinuteRow, emissions) {
	t.Helper()
	ctx := context.Background()
	sh := NewShard(1, Config{}, store.lookup)
	wms := window.New(window.Config{})
	var calls [][]MinuteRow
	last := emissions{}
	for i, ev := range events {
		h := ev.Header()
		wms.Observe(window.SourceKey{Topic: ev.Kind.DefaultTopic(), Partition: 1}, h.TS, time.UnixMilli(h.TS))
		wm := int64(math.MinInt64)
		if useWatermark {
			wm = wms.Watermark(time.UnixMilli(h.TS))
		}
		if sh.Add(ev, wm) {
			t.Fatalf("event %d (%s at %d) late at watermark %d", i, ev.Kind, h.TS, wm)
		}
		if every > 0 && (i+1)%every == 0 {
			rows := sh.Advance(ctx, wm)
			last.add(t, rows)
			calls = append(calls, rows)
		}
	}
	rows := sh.Flush(ctx)
	last.add(t, rows)
	calls = append(calls, rows)
	if st := sh.Stats(); st.OpenMinutes != 0 || st.Sessions != 0 || st.PendingRefunds != 0 {
		t.Fatalf("state left after Flush: %+v", st)
	}
	return calls, last
}

// TestReplayEquivalence: the same events give the same final rows whether Advance runs after
// every event, every 97 events, or never (one Flush at the end), and those rows equal an
// independent recomputation from the raw events.
func TestReplayEquivalence(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { replayEquivalence(t, seed) })
	}
}

func replayEquivalence(t *testing.T, seed uint64) {
	events, store := traffic(seed, 20)
	t.Logf("%d events", len(events))
	_, once := replay(t, events, store, 0, false)
	callsEach, each := replay(t, events, store, 1, true)
	_, some := replay(t, events, store, 97, true)
	if len(once) < 30 {
		t.Fatalf("only %d rows", len(once))
	}
	diff := func(name string, got emissions) {
		for k, w := range once {
			if g, ok := got[k]; !ok || g != w {
				t.Errorf("%s: %v\n got %+v\nwant %+v", name, k, g, w)
			}
		}
		for k := range got {
			if _, ok := once[k]; !ok {
				t.Errorf("%s: extra row %v", name, k)
			}
		}
	}
	diff("advance after every event", each)
	diff("advance every 97 events", some)
	emitted := 0
	for _, c := range callsEach {
		emitted += len(c)
	}
	t.Logf("%d rows; advancing after every event emitted %d rows (with corrections)", len(once), emitted)

	// Determinism: the same inputs give the very same emissions, call by call.
	callsAgain, _ := replay(t, events, store, 1, true)
	if !reflect.DeepEqual(callsEach, callsAgain) {
		t.Error("two identical runs emitted different rows")
	}

	checkOracle(t, events, store, once)
}

// checkOracle recomputes every figure from the events — counts and money as SQL would (group by
// stream and minute, refunds joined to their order's stream), sessions in event-time order — and
// compares it to the final rows.
func checkOracle(t *testing.T, events []*schemas.Event, store *fakeStore, got emissions) {
	t.Helper()
	const timeout = 60_000
	want := map[rowKey]*MinuteRow{}
	labels := map[string][3]string{}
	rowOf := func(stream string, ts int64) *MinuteRow {
		k := rowKey{stream, minuteOf(ts)}
		r := want[k]
		if r == nil {
			l := labels[stream]
			r = &MinuteRow{Minute: k.minute, StreamID: stream, Partition: 1, KOLID: l[0], BrandID: l[1], Platform: l[2]}
			want[k] = r
		}
		return r
	}
	type set = map[string]bool
	buyers, viewers, refunded := map[rowKey]set{}, map[rowKey]set{}, map[rowKey]set{}
	addTo := func(m map[rowKey]set, k rowKey, v string) {
		if m[k] == nil {
			m[k] = set{}
		}
		m[k][v] = true
	}
	owner := map[string]string{}
	reportedTS := map[rowKey]int64{}
	for _, ev := range events {
		h := ev.Header()
		labels[h.StreamID] = [3]string{h.KOLID, h.BrandID, h.Platform}
		if ev.Kind == schemas.KindOrder {
			owner[ev.Order.OrderID] = h.StreamID
		}
	}
	for id, o := range store.orders {
		if _, ok := owner[id]; !ok {
			owner[id] = o.StreamID
			if _, ok := labels[o.StreamID]; !ok {
				labels[o.StreamID] = [3]string{o.KOLID, o.BrandID, o.Platform}
			}
		}
	}
	type sev struct {
		ts  int64
		act schemas.Action
	}
	sessions := map[[2]string][]sev{}
	var sessionKeys [][2]string
	for _, ev := range events {
		h := ev.Header()
		k := rowKey{h.StreamID, minuteOf(h.TS)}
		switch ev.Kind {
		case schemas.KindOrder:
			r := rowOf(h.StreamID, h.TS)
			r.Orders++
			r.GMV += ev.Order.Amount
			addTo(buyers, k, ev.Order.BuyerID)
		case schemas.KindRefund:
			if s, ok := owner[ev.Refund.OrderID]; ok {
				r := rowOf(s, h.TS)
				r.Refunds++
				r.RefundAmount += ev.Refund.Amount
				addTo(refunded, rowKey{s, k.minute}, ev.Refund.OrderID)
			} else {
				r := rowOf(h.StreamID, h.TS)
				r.UnmatchedRefunds++
				r.UnmatchedRefundAmount += ev.Refund.Amount
			}
		case schemas.KindViewer:
			v := &ev.Viewer
			r := rowOf(h.StreamID, h.TS)
			switch v.Action {
			case schemas.ActionCount:
				r.CountEvents++
				if ts, ok := reportedTS[k]; !ok || h.TS >= ts {
					reportedTS[k], r.ReportedViewers = h.TS, v.ReportedViewers
				}
				continue
			case schemas.ActionJoin:
				r.Joins++
			case schemas.ActionLeave:
				r.Leaves++
			case schemas.ActionHeartbeat:
				r.Heartbeats++
			case schemas.ActionEngage:
				r.Engagements++
			}
			addTo(viewers, k, v.ViewerID)
			key := [2]string{h.StreamID, cmp.Or(v.SessionID, "viewer:"+v.ViewerID)}
			if sessions[key] == nil {
				sessionKeys = append(sessionKeys, key)
			}
			sessions[key] = append(sessions[key], sev{h.TS, v.Action})
		}
	}
	for k, r := range want {
		r.Buyers, r.UniqueViewers, r.RefundedOrders = uint64(len(buyers[k])), uint64(len(viewers[k])), uint64(len(refunded[k]))
	}

	// Sessions in event-time order.
	type interval struct{ open, close int64 }
	perStream := map[string][]interval{}
	for _, key := range sessionKeys {
		evs := sessions[key]
		slices.SortStableFunc(evs, func(a, b sev) int { return cmp.Compare(a.ts, b.ts) })
		open, isOpen, last := int64(0), false, int64(0)
		end := func(close, endAt, watch int64) {
			if r := want[rowKey{key[0], minuteOf(endAt)}]; r != nil {
				r.SessionsEnded++
				r.WatchMSEnded += uint64(watch)
			} else {
				t.Fatalf("session of %v ends in a minute without events", key)
			}
			perStream[key[0]] = append(perStream[key[0]], interval{open, close})
			isOpen = false
		}
		for _, e := range evs {
			if isOpen && e.ts >= last+timeout {
				end(last+timeout, last, last-open)
			}
			switch {
			case e.act == schemas.ActionLeave:
				if isOpen {
					end(e.ts, e.ts, e.ts-open)
				}
			case !isOpen:
				open, last, isOpen = e.ts, e.ts, true
			default:
				last = max(last, e.ts)
			}
		}
		if isOpen {
			end(last+timeout, last, last-open)
		}
	}
	for k, r := range want {
		ivs := perStream[k.stream]
		openAt := func(t int64) (n uint64) {
			for _, iv := range ivs {
				if iv.open <= t && t < iv.close {
					n++
				}
			}
			return n
		}
		r.ConcurrentViewers = openAt(k.minute + minuteMS - 1)
		r.PeakConcurrent = openAt(k.minute)
		for _, iv := range ivs {
			if iv.open >= k.minute && iv.open < k.minute+minuteMS {
				r.PeakConcurrent = max(r.PeakConcurrent, openAt(iv.open))
			}
		}
	}

	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("oracle: no row for %v, want %+v", k, *w)
			continue
		}
		if g != *w {
			t.Errorf("oracle: %v\n got %+v\nwant %+v", k, g, *w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("oracle: row %v has no events: %+v", k, g)
		}
	}
	var refunds, unmatched, ended uint64
	for _, w := range want {
		refunds += w.Refunds
		unmatched += w.UnmatchedRefunds
		ended += w.SessionsEnded
	}
	t.Logf("oracle: %d rows, %d attributed refunds, %d unmatched, %d sessions ended", len(want), refunds, unmatched, ended)
}
