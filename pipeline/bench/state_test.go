package bench

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/schemas"
)

// BenchmarkStateMillionSessions measures the heap (runtime.MemStats, after GC) that one
// partition's state holds — the metrics shard and the detector engine together, as the rollup
// stage keeps them — for 1,000 live streams with 1,000 concurrent sessions each: every session
// joins (with a device and an address) and heartbeats within the last minute of event time, and
// both are advanced to a watermark 5 s behind. The ids are fresh strings, as the decoder makes
// them, so what the state retains of them is counted. Reported: B/session (the total ÷ 1,000,000)
// and MiB in all.
func BenchmarkStateMillionSessions(b *testing.B) {
	const streams, perStream = 1000, 1000
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute).UnixMilli()
	var total float64
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sh := metrics.NewShard(0, metrics.Config{}, nil)
		eng := detectors.NewEngine(detectors.DefaultConfig())
		var ev schemas.Event
		observe := func(ts int64, s, v int, a schemas.Action) {
			sid := "st-" + strconv.Itoa(s)
			ev = schemas.Event{Kind: schemas.KindViewer, Viewer: schemas.Viewer{
				Header: schemas.Header{TS: ts, StreamID: sid, KOLID: "kol-" + strconv.Itoa(s), BrandID: "brand-" + strconv.Itoa(s%50), Platform: "douyin"},
				Action: a, ViewerID: "u-" + strconv.Itoa(v), SessionID: "sess-" + strconv.Itoa(v),
			}}
			if a == schemas.ActionJoin {
				ev.Viewer.DeviceID = "dev-" + strconv.Itoa(v*7919%(1<<30))
				ev.Viewer.IP = "10." + strconv.Itoa(v>>16&255) + "." + strconv.Itoa(v>>8&255) + "." + strconv.Itoa(v&255)
			}
			if !sh.Add(&ev, ts-5_000) {
				eng.Observe(&ev)
			}
		}
		n := streams * perStream
		for i := range n { // joins over 30 s of event time, then a heartbeat each over the next 30 s
			observe(t0+int64(i)*30_000/int64(n), i%streams, i, schemas.ActionJoin)
		}
		for i := range n {
			observe(t0+30_000+int64(i)*30_000/int64(n), i%streams, i, schemas.ActionHeartbeat)
		}
		w := t0 + 60_000 - 5_000
		sh.Advance(ctx, w)
		eng.Advance(w)
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := sh.Stats().Sessions; got != n {
			b.Fatalf("shard tracks %d sessions, want %d", got, n)
		}
		runtime.KeepAlive(sh)
		runtime.KeepAlive(eng)
		total = float64(after.HeapAlloc) - float64(before.HeapAlloc)
	}
	b.ReportMetric(total/float64(streams*perStream), "B/session")
	b.ReportMetric(total/(1<<20), "MiB")
}
