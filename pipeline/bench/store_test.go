package bench

import (
	"context"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/simulate"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// BenchmarkStoreInsertViewers: the store writer on the embedded engine — one INSERT of 50,000
// simulated viewer events (the consumer's default batch) into viewer_events through the engine's
// insert stream, as the embedded backend sends them (Native: column by column) and in RowBinary
// (row by row, what it sent before). rows/s, rows per CPU-second of the process (Go's encoding and
// the engine's threads), and bytes (of RowBinary, for both) per second.
func BenchmarkStoreInsertViewers(b *testing.B) {
	const n = 50_000
	st := testenv.Store(b)
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	g := simulate.NewGenerator(simulate.Config{Streams: 200, Rate: 20_000 / max(simulate.CurveLevel(start.In(shanghai())), 0.05),
		Start: start, Duration: time.Hour, Seed: 1})
	dec := schemas.NewDecoder(schemas.DecoderConfig{})
	var rows store.ViewerRows
	var m simulate.Message
	var ev schemas.Event
	for off := int64(0); len(rows) < n && g.Next(&m); off++ {
		if m.Kind != schemas.KindViewer {
			continue
		}
		if err := dec.Decode(m.Kind, m.Value, time.Now(), &ev); err != nil {
			b.Fatal(err)
		}
		rows = append(rows, store.ViewerRow{Src: store.Source{Topic: "livepulse.viewer", Partition: 0, Offset: off}, Ev: ev.Viewer})
	}
	ctx := context.Background()
	run := func(b *testing.B, r store.Rows) {
		b.SetBytes(int64(len(rows.AppendRowBinary(nil, 0))))
		b.ReportAllocs()
		cpu0 := cpuSeconds()
		for b.Loop() {
			if err := st.Insert(ctx, time.Now(), r); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(n*b.N)/(cpuSeconds()-cpu0), "rows/cpu-s")
	}
	b.Run("Native", func(b *testing.B) { run(b, rows) })
	b.Run("RowBinary", func(b *testing.B) { run(b, rowBinaryOnly{rows}) })
}

// rowBinaryOnly hides the Native encoding of its rows: the embedded backend sends them as
// RowBinary.
type rowBinaryOnly struct{ store.Rows }
