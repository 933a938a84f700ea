package datasets_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/datasets"
	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/rollup"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// TestReplayUCICatchUpDefaults reproduces a pipeline bug found with the UCI data; it runs only
// with LIVEPULSE_REPRO_LOOKUP_RACE=1 (it fails until the bug is fixed, and takes ~16 s).
//
// The UCI file is produced while the consumer runs (500 events every 20 ms: a year in about a
// second, like a consumer catching up on a backlog), with a displayed-count tick per partition in
// every chunk so that no source goes idle, and the DEFAULT OrderRetention (24 h) and ingest
// batching (FlushInterval 1 s). Nothing is late and GMV is exact, but about 600 of the 3,077
// refunds whose order is stored are counted in unmatched_refunds instead of refunds.
//
// Why: a shard forgets orders OrderRetention behind the watermark, and the watermark follows what
// the consumer has READ. A refund of an order forgotten that way waits for OrderLookup, which
// asks ClickHouse, which holds only what has been STORED; the order, read a few milliseconds
// earlier in wall time, is often still in an unsealed or in-flight batch. The refund is looked up
// at most twice (first Advance, and when its minute becomes final: in a fast catch-up both come
// within the same flush interval) and is then counted unmatched for good. With OrderRetention
// covering the data (TestReplayUCI) or FlushInterval 20 ms the figures are exact.
func TestReplayUCICatchUpDefaults(t *testing.T) {
	if os.Getenv("LIVEPULSE_REPRO_LOOKUP_RACE") == "" {
		t.Skip("reproduces a known pipeline bug; set LIVEPULSE_REPRO_LOOKUP_RACE=1 to run it")
	}
	zr := openShared(t, "online_retail.csv.gz")
	testenv.Library(t)
	var events []schemas.Event
	stats, err := datasets.ReadUCI(zr, datasets.UCIOptions{}, func(ev schemas.Event) error { events = append(events, ev); return nil })
	if err != nil {
		t.Fatal(err)
	}
	st := testenv.Store(t)
	b := testenv.Broker(t, partitions)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := ingest.Config{Brokers: []string{b.Addr()}, Partitions: partitions, Decoder: schemas.DecoderConfig{PastHorizon: -1}}
	if err := ingest.EnsureTopics(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
		BatchSize: 10_000, BatchBytes: 8 << 20, BatchTimeout: 2 * time.Millisecond}
	defer w.Close()
	proc := rollup.New(rollup.Config{Metrics: metrics.Config{AllowedLateness: lateness}, EmitInterval: 50 * time.Millisecond}, st)
	cfg.Processor = proc
	c, err := ingest.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	procCtx, stopProc := context.WithCancel(ctx)
	procDone := make(chan struct{})
	go func() { proc.Run(procCtx); close(procDone) }()
	defer func() { stopProc(); <-procDone }()
	for deadline := time.Now().Add(30 * time.Second); !c.Joined(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("consumer never joined")
		}
	}

	// One tick stream per partition number.
	var ticks []string
	seen := make(map[int]bool)
	for i := 0; len(ticks) < partitions; i++ {
		key := fmt.Sprintf("tick-%d", i)
		if p := (&kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: []byte(key)}, 0, 1, 2, 3); !seen[p] {
			seen[p] = true
			ticks = append(ticks, key)
		}
	}
	n := 0
	for i := 0; i < len(events); i += 500 {
		chunk := append([]schemas.Event(nil), events[i:min(i+500, len(events))]...)
		ts := chunk[len(chunk)-1].Header().TS
		for _, k := range ticks {
			chunk = append(chunk, schemas.Event{Kind: schemas.KindViewer, Viewer: schemas.Viewer{
				Header: schemas.Header{EventID: fmt.Sprintf("%s-%d", k, i), TS: ts, StreamID: k, KOLID: k}, Action: schemas.ActionCount}})
		}
		produce(t, ctx, w, chunk)
		n += len(chunk)
		time.Sleep(20 * time.Millisecond)
	}
	waitStored(t, st, int64(n), 2*time.Minute)
	stopProc()
	<-procDone
	finish(t, ctx, w, st, proc, events[len(events)-1].Header().TS, int64(n))
	c.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkNothingLate(t, st)
	m := query(t, st, `SELECT toString(sum(gmv)), sum(refunds), sum(unmatched_refunds) FROM stream_metrics_1m FINAL
WHERE stream_id != '`+endStream+`' AND stream_id NOT LIKE 'tick-%'`)
	compare(t,
		fig{"rollup Σ gmv", toMoney(t, m[0]), stats.GMV},
		fig{"rollup Σ refunds (matched)", toInt(t, m[1]), int64(stats.MatchedRefunds)},
		fig{"rollup Σ unmatched_refunds", toInt(t, m[2]), int64(stats.UnmatchedRefunds)},
	)
}
