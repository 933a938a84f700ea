package metrics

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/livepulse/livepulse/schemas"
)

// benchPool holds the ids a benchmark draws from, made once so the loop allocates nothing itself.
type benchPool struct {
	streams, viewers, sessions, orders []string
}

func newBenchPool(streams, viewersPerStream, orders int) *benchPool {
	p := &benchPool{}
	for s := range streams {
		p.streams = append(p.streams, fmt.Sprintf("stream-%04d", s))
	}
	for v := range streams * viewersPerStream {
		p.viewers = append(p.viewers, fmt.Sprintf("viewer-%07d", v))
		p.sessions = append(p.sessions, fmt.Sprintf("session-%07d", v))
	}
	for o := range orders {
		p.orders = append(p.orders, fmt.Sprintf("order-%07d", o))
	}
	return p
}

// BenchmarkShardAdd: events/s and allocations per event of Add on a realistic mix — 100 streams,
// 20,000 viewers with a heartbeat every ~20 s (event time), 1 event in 10 an engage, 1 in 50 an
// order, 1 in 200 a refund, 1 in 100 a displayed count — with an Advance every 1,000 events on a
// watermark 5 s behind (its cost included).
func BenchmarkShardAdd(b *testing.B) {
	const streams, viewersPerStream = 100, 200
	p := newBenchPool(streams, viewersPerStream, 100_000)
	sh := NewShard(0, Config{}, nil)
	ctx := context.Background()
	var ev schemas.Event
	nv := len(p.viewers)
	step := func(i int) {
		ts := t0 + int64(i) // 1,000 events per second of event time
		v := (i * 7919) % nv
		s := v / viewersPerStream
		h := schemas.Header{TS: ts, StreamID: p.streams[s], KOLID: "kol", BrandID: "brand", Platform: "tiktok"}
		switch {
		case i%200 == 7:
			ev.Kind = schemas.KindRefund
			ev.Refund = schemas.Refund{Header: h, OrderID: p.orders[(i/50)%len(p.orders)], Amount: 100}
		case i%50 == 3:
			ev.Kind = schemas.KindOrder
			ev.Order = schemas.Order{Header: h, OrderID: p.orders[(i/50)%len(p.orders)], BuyerID: p.viewers[v], Amount: 1999}
		case i%100 == 5:
			ev.Kind = schemas.KindViewer
			ev.Viewer = schemas.Viewer{Header: h, Action: schemas.ActionCount, ReportedViewers: uint64(i)}
		default:
			a := schemas.ActionHeartbeat
			if i%10 == 1 {
				a = schemas.ActionEngage
			}
			ev.Kind = schemas.KindViewer
			ev.Viewer = schemas.Viewer{Header: h, Action: a, ViewerID: p.viewers[v], SessionID: p.sessions[v]}
		}
		wm := ts - 5_000
		sh.Add(&ev, wm)
		if i%1000 == 999 {
			sh.Advance(ctx, wm)
		}
	}
	for i := range 200_000 { // warm up: every session open, minutes recycling
		step(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 200_000; i < 200_000+b.N; i++ {
		step(i)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	st := sh.Stats()
	b.ReportMetric(float64(st.Sessions), "sessions")
}

// BenchmarkShardMemory measures the heap (runtime.MemStats) a shard holds for 1,000 active streams
// (an order, a displayed count and N sessions each, in the current minute), and reports it per
// stream (N = 0) and per tracked session (the increase from N = 0 to N = 100), next to the
// shard's own estimate (ShardStats.Bytes).
func BenchmarkShardMemory(b *testing.B) {
	const streams = 1000
	measure := func(sessions int) (heap, estimate float64) {
		p := newBenchPool(streams, sessions, streams)
		events := make([]schemas.Event, 0, streams*(sessions+2))
		for s := range streams {
			h := schemas.Header{TS: t0 + 1000, StreamID: p.streams[s], KOLID: "kol-" + p.streams[s], BrandID: "brand", Platform: "tiktok"}
			events = append(events, schemas.Event{Kind: schemas.KindOrder, Order: schemas.Order{Header: h, OrderID: p.orders[s], BuyerID: "b", Amount: 1}})
			events = append(events, schemas.Event{Kind: schemas.KindViewer, Viewer: schemas.Viewer{Header: h, Action: schemas.ActionCount, ReportedViewers: 1}})
			for v := s * sessions; v < (s+1)*sessions; v++ {
				h.TS = t0 + 2000 + int64(v%50_000)
				events = append(events, schemas.Event{Kind: schemas.KindViewer, Viewer: schemas.Viewer{Header: h, Action: schemas.ActionJoin, ViewerID: p.viewers[v], SessionID: p.sessions[v]}})
			}
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sh := NewShard(0, Config{}, nil)
		for i := range events {
			sh.Add(&events[i], t0)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := sh.Stats()
		runtime.KeepAlive(sh)
		runtime.KeepAlive(events)
		return float64(after.HeapAlloc) - float64(before.HeapAlloc), float64(st.Bytes)
	}
	const sessions = 100
	var perStream, perSession, estStream, estSession float64
	for range b.N {
		h0, e0 := measure(0)
		h1, e1 := measure(sessions)
		perStream, estStream = h0/streams, e0/streams
		perSession, estSession = (h1-h0)/(streams*sessions), (e1-e0)/(streams*sessions)
	}
	b.ReportMetric(perStream, "B/stream")
	b.ReportMetric(perSession, "B/session")
	b.ReportMetric(estStream, "est-B/stream")
	b.ReportMetric(estSession, "est-B/session")
}
