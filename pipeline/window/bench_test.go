package window

import (
	"testing"
	"time"
)

// BenchmarkObserveWatermark: what the consumer does per event (rollup.Processor's Observe, then
// Process asking for the watermark, on one clock reading), with the 36 sources of 3 topics × 12
// partitions, events arriving round-robin over the partitions of one topic, their event time
// rising.
func BenchmarkObserveWatermark(b *testing.B) {
	w := New(Config{})
	var srcs []SourceKey
	for _, topic := range []string{"livepulse.viewer", "livepulse.order", "livepulse.refund"} {
		for p := range 12 {
			src := SourceKey{Topic: topic, Partition: int32(p)}
			srcs = append(srcs, src)
			w.Observe(src, 1_750_000_000_000, time.Now())
		}
	}
	b.ReportAllocs()
	ts := int64(1_750_000_000_000)
	for i := 0; b.Loop(); i++ {
		ts += int64(i & 1)
		now := time.Now()
		w.ObserveBacklog(srcs[i%12], ts, now, true)
		if w.Watermark(now) < 0 {
			b.Fatal("no watermark")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
