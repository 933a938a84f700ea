package metrics

import (
	"fmt"
	"testing"
	"time"
)

func TestStreamEviction(t *testing.T) {
	ctx := t.Context()
	sh := NewShard(0, Config{StreamIdle: 5 * time.Minute, LateRetention: time.Minute}, nil)
	sh.Add(join("a", "v", "x", at(0, 10)), at(0, 0))
	sh.Add(order("a", "o1", "b", 5, at(0, 20)), at(0, 0))
	streams := func() int { return sh.Stats().Streams }
	for m := 1; m <= 5; m++ {
		sh.Add(countEv("b", 1, at(m, 0)), at(m, 0))
		sh.Advance(ctx, at(m, 0))
		st := sh.Stats()
		switch {
		case m < 2 && (st.OpenMinutes < 2 || st.Sessions != 1):
			t.Fatalf("minute %d: %+v", m, st)
		case m >= 3 && st.Sessions != 0: // a's session closed at 1:10, in minute 1, final at 3:00
			t.Fatalf("minute %d: session kept: %+v", m, st)
		}
	}
	if streams() != 2 {
		t.Fatalf("a evicted too early: %+v", sh.Stats())
	}
	sh.Advance(ctx, at(5, 20)) // a's last event at 0:20 + 5 min idle
	if streams() != 1 {
		t.Fatalf("a not evicted: %+v", sh.Stats())
	}
	// Its orders stay for attribution, and it comes back with its next event.
	sh.Add(refund("a", "r1", "o1", 5, at(6, 0)), at(6, 0))
	sh.Add(join("a", "v", "x", at(6, 1)), at(6, 0))
	rows := emissions{}
	rows.add(t, sh.Flush(ctx))
	if r, ok := rows.row("a", 6); !ok || r.Refunds != 1 || r.Joins != 1 || r.ConcurrentViewers != 1 || r.KOLID != "kol-a" {
		t.Fatalf("row after eviction %+v", r)
	}
}

func TestOrderRetention(t *testing.T) {
	ctx := t.Context()
	store := &fakeStore{orders: map[string]OrderRef{"o1": {StreamID: "s", KOLID: "kol-s", BrandID: "brand", Platform: "tiktok", TS: at(0, 10)}}}
	sh := NewShard(0, Config{OrderRetention: 3 * time.Minute}, store.lookup)
	sh.Add(order("s", "o1", "b", 5, at(0, 10)), at(0, 0))
	sh.Add(order("s", "o2", "b", 5, at(1, 10)), at(0, 0))
	sh.Advance(ctx, at(3, 9.999))
	if n := sh.Stats().Orders; n != 2 {
		t.Fatalf("%d orders kept, want 2", n)
	}
	sh.Advance(ctx, at(3, 10))
	if n := sh.Stats().Orders; n != 1 {
		t.Fatalf("%d orders kept, want 1", n)
	}
	sh.Add(refund("s", "r1", "o1", 5, at(3, 20)), at(3, 10))
	sh.Add(refund("s", "r2", "o2", 5, at(3, 21)), at(3, 10))
	rows := emissions{}
	rows.add(t, sh.Flush(ctx))
	if r, _ := rows.row("s", 3); r.Refunds != 2 || r.UnmatchedRefunds != 0 {
		t.Fatalf("row %+v", r)
	}
	if len(store.calls) != 1 || len(store.calls[0]) != 1 || store.calls[0][0] != "o1" {
		t.Fatalf("lookups %v, want one for the expired order", store.calls)
	}
}

// TestBoundedState: an hour of streams that start and stop leaves only the recent state.
func TestBoundedState(t *testing.T) {
	ctx := t.Context()
	sh := NewShard(0, Config{StreamIdle: 5 * time.Minute, LateRetention: 2 * time.Minute, OrderRetention: 10 * time.Minute}, nil)
	peak := ShardStats{}
	for m := range 60 {
		for s := m / 10 * 3; s < m/10*3+3; s++ { // three streams live per 10 minutes
			stream := fmt.Sprint("s", s)
			for v := range 50 {
				for _, sec := range []float64{float64(v % 30), float64(v%30 + 30)} {
					ts := at(m, sec)
					sh.Add(beat(stream, fmt.Sprint("v", v), "", ts), ts-5_000)
				}
			}
			sh.Add(order(stream, fmt.Sprint("o", m, stream), "b", 1, at(m, 45)), at(m, 40))
		}
		sh.Advance(ctx, at(m+1, 0)-5_000)
		st := sh.Stats()
		peak.OpenMinutes = max(peak.OpenMinutes, st.OpenMinutes)
		peak.Sessions = max(peak.Sessions, st.Sessions)
		peak.Streams = max(peak.Streams, st.Streams)
		peak.Orders = max(peak.Orders, st.Orders)
	}
	st := sh.Stats()
	t.Logf("peak %+v\nend  %+v", peak, st)
	if peak.Streams > 6 || peak.OpenMinutes > 6*4 || peak.Sessions > 6*50 || peak.Orders > 3*11 {
		t.Fatalf("state not bounded: peak %+v", peak)
	}
	sh.Flush(ctx)
	sh.Advance(ctx, at(60+30, 0))
	if st := sh.Stats(); st.Streams != 0 || st.OpenMinutes != 0 || st.Sessions != 0 || st.Orders != 0 || st.FinalRows != 0 {
		t.Fatalf("state left an hour later: %+v", st)
	}
}
