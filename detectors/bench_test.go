package detectors

import (
	"fmt"
	"testing"

	"github.com/livepulse/livepulse/schemas"
)

// benchPool holds the ids a benchmark draws from, made once so the loop allocates nothing itself.
type benchPool struct {
	streams, viewers, sessions, devices, ips, orders []string
}

func newBenchPool(streams, viewersPerStream, orders int) *benchPool {
	p := &benchPool{}
	for s := range streams {
		p.streams = append(p.streams, fmt.Sprintf("stream-%04d", s))
	}
	for v := range streams * viewersPerStream {
		p.viewers = append(p.viewers, fmt.Sprintf("viewer-%07d", v))
		p.sessions = append(p.sessions, fmt.Sprintf("session-%07d", v))
		p.devices = append(p.devices, fmt.Sprintf("dev-%07x", v*2654435761%(1<<28)))
		p.ips = append(p.ips, fmt.Sprintf("%d.%d.%d.%d", 36+v%150, v/3%251, v/3/251%251, 1+v%3))
	}
	for o := range orders {
		p.orders = append(p.orders, fmt.Sprintf("order-%07d", o))
	}
	return p
}

// BenchmarkEngineObserve: events/s and allocations per event of Engine.Observe on a realistic mix
// — 100 streams, 20,000 viewers with a heartbeat every ~20 s (event time), 1 event in 25 a join
// (with device and address), 1 in 10 an engage, 1 in 50 an order, 1 in 200 a refund, 1 in 100 a
// displayed count — with an Advance every 1,000 events on a watermark 5 s behind (its cost, the
// evaluations every 10 s of event time, included); all detectors, then each alone.
func BenchmarkEngineObserve(b *testing.B) {
	p := newBenchPool(benchStreams, benchViewersPerStream, 100_000)
	only := func(kind string) Config {
		c := DefaultConfig()
		c.ViewerInflation.Enabled = kind == KindViewerInflation
		c.RefundSpike.Enabled = kind == KindRefundSpike
		c.OrderBrushing.Enabled = kind == KindOrderBrushing
		return c
	}
	b.Run("all", func(b *testing.B) { benchEngine(b, p, DefaultConfig()) })
	for _, kind := range []string{KindViewerInflation, KindRefundSpike, KindOrderBrushing} {
		b.Run(kind, func(b *testing.B) { benchEngine(b, p, only(kind)) })
	}
}

const benchStreams, benchViewersPerStream = 100, 200

func benchEngine(b *testing.B, p *benchPool, cfg Config) {
	const viewersPerStream = benchViewersPerStream
	e := NewEngine(cfg)
	var ev schemas.Event
	nv := len(p.viewers)
	flags := 0
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
			ev.Order = schemas.Order{Header: h, OrderID: p.orders[(i/50)%len(p.orders)], BuyerID: p.orders[(i/50*7919)%len(p.orders)], SKUID: "sku-1", Amount: 1999}
		case i%100 == 5:
			ev.Kind = schemas.KindViewer
			ev.Viewer = schemas.Viewer{Header: h, Action: schemas.ActionCount, ReportedViewers: uint64(viewersPerStream)}
		default:
			a := schemas.ActionHeartbeat
			var dev, ip string
			switch {
			case i%25 == 1:
				a, dev, ip = schemas.ActionJoin, p.devices[v], p.ips[v]
			case i%10 == 1:
				a = schemas.ActionEngage
			}
			ev.Kind = schemas.KindViewer
			ev.Viewer = schemas.Viewer{Header: h, Action: a, ViewerID: p.viewers[v], SessionID: p.sessions[v], DeviceID: dev, IP: ip}
		}
		e.Observe(&ev)
		if i%1000 == 999 {
			flags += len(e.Advance(ts - 5000))
		}
	}
	for i := range 200_000 { // warm up: sessions, orders and buffers at their steady size
		step(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		step(200_000 + i)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(flags), "flags")
	if s := e.Stats(); s.Late != 0 {
		b.Fatalf("late events: %+v", s)
	}
}
