package bench

import (
	"context"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/simulate"
	"github.com/livepulse/livepulse/schemas"
)

// BenchmarkHotPath: one partition's hot path on one goroutine — the strict decoder, the metrics
// shard and the detector engine, no broker and no store — over the simulator's realistic mix
// (200 streams; 300,000 messages from its 4th minute on, when viewers have settled in and buy:
// the first minutes are joins only; replayed with event time shifted forward on each pass), with
// both advanced every 1,000 events on a watermark 5 s behind (minute rows and evaluations
// included). events/s is per core (one goroutine); events/cpu-s counts the process's CPU time.
func BenchmarkHotPath(b *testing.B) {
	const n = 300_000
	// A fixed evening (traffic curve level ≈ 1), so every run replays the same messages.
	start := time.Date(2025, 11, 10, 20, 30, 0, 0, shanghai())
	g := simulate.NewGenerator(simulate.Config{Streams: 200, Rate: 2_000 / max(simulate.CurveLevel(start.In(shanghai())), 0.05),
		Start: start, Duration: time.Hour, Seed: 1})
	settled := start.Add(3 * time.Minute).UnixMilli()
	var kinds [schemas.KindRefund + 1]int
	type msg struct {
		kind  schemas.Kind
		value []byte
	}
	msgs := make([]msg, 0, n)
	var m simulate.Message
	bytes := 0
	var firstTS, lastTS int64
	for len(msgs) < n && g.Next(&m) {
		if m.TS < settled {
			continue
		}
		kinds[m.Kind]++
		msgs = append(msgs, msg{m.Kind, append([]byte(nil), m.Value...)})
		bytes += len(m.Value)
		if len(msgs) == 1 {
			firstTS = m.TS
		}
		lastTS = max(lastTS, m.TS)
	}
	span := lastTS - firstTS + 10_000 // each pass starts after the last one's events (and their disorder)
	if len(msgs) < n {
		b.Fatalf("generated %d of %d messages", len(msgs), n)
	}
	dec := schemas.NewDecoder(schemas.DecoderConfig{PastHorizon: -1})
	sh := metrics.NewShard(0, metrics.Config{}, nil)
	eng := detectors.NewEngine(detectors.DefaultConfig())
	ctx, now := context.Background(), time.Now()
	var ev schemas.Event
	var shift, maxTS int64
	step := func(i int) {
		j := i % n
		if j == 0 && i > 0 {
			shift += span
		}
		mm := &msgs[j]
		if err := dec.Decode(mm.kind, mm.value, now, &ev); err != nil {
			b.Fatal(err)
		}
		h := ev.Header()
		h.TS += shift
		maxTS = max(maxTS, h.TS)
		wm := maxTS - 5_000
		if !sh.Add(&ev, wm) {
			eng.Observe(&ev)
		}
		if i%1000 == 999 {
			sh.Advance(ctx, wm)
			eng.Advance(wm)
		}
	}
	for i := range n { // warm up: one pass, state at its steady size
		step(i)
	}
	b.SetBytes(int64(bytes / n))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	// Labelled so that `go tool pprof -tagfocus phase=timed` leaves out the set-up and warm-up.
	pprof.Do(context.Background(), pprof.Labels("phase", "timed"), func(context.Context) {
		for i := n; i < n+b.N; i++ {
			step(i)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// CPU time (the process's, GC included) says more than wall time on a shared machine: other
	// processes' load lengthens the wall time of each event, not its CPU time.
	b.ReportMetric(float64(b.N)/(cpuSeconds()-cpu0), "events/cpu-s")
	b.ReportMetric(100*float64(kinds[schemas.KindOrder]+kinds[schemas.KindRefund])/n, "%orders+refunds")
}
