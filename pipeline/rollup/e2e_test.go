package rollup_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/rollup"
	"github.com/livepulse/livepulse/pipeline/simulate"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/pipeline/window"
)

type run struct {
	st        *store.Store
	proc      *rollup.Processor
	watermark int64
}

// pipelineRun produces simulated traffic into a fresh broker and consumes it into st with the
// rollup stage, until all is stored and the watermark stops moving.
func pipelineRun(t *testing.T, st *store.Store, gen simulate.Config, batchRows int) run {
	t.Helper()
	b := testenv.Broker(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := ingest.Config{Brokers: []string{b.Addr()}, BatchRows: batchRows, FlushInterval: 200 * time.Millisecond}
	if err := ingest.EnsureTopics(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	stats, err := simulate.Produce(ctx, simulate.NewGenerator(gen), simulate.ProduceConfig{Brokers: []string{b.Addr()}, Unpaced: true})
	if err != nil {
		t.Fatal(err)
	}
	proc := rollup.New(rollup.Config{
		Window:       window.Config{IdleTimeout: 300 * time.Millisecond},
		Metrics:      metrics.Config{AllowedLateness: time.Minute},
		EmitInterval: 100 * time.Millisecond,
	}, st)
	cfg.Processor = proc
	c, err := ingest.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	go proc.Run(ctx)
	want := stats.Messages
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := st.Backend().Query(ctx, "SELECT (SELECT count() FROM viewer_events) + (SELECT count() FROM orders) + (SELECT count() FROM refunds) + (SELECT count() FROM dead_letters)", "TabSeparated")
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		fmt.Sscan(string(out), &n)
		if n == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored %d of %d messages", n, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // partitions go idle: the watermark reaches the last events
	c.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := proc.Emit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return run{st: st, proc: proc, watermark: proc.Watermark()}
}

// TestRollupEqualsSQL: after a simulated run, every stream_metrics_1m row equals a plain-SQL
// recomputation over the raw tables, exactly, and every minute the watermark made final has its row.
func TestRollupEqualsSQL(t *testing.T) {
	st := testenv.Store(t)
	start := time.Now().Add(-25 * time.Minute).Truncate(time.Minute)
	r := pipelineRun(t, st, simulate.Config{Streams: 12, Rate: 150, Start: start, Duration: 20 * time.Minute, Seed: 7}, 2000)
	rep, err := rollup.Verify(context.Background(), st, r.watermark-time.Minute.Milliseconds()-60_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
	if n := queryCount(t, st, "SELECT count() FROM viewer_events WHERE late = 1"); n > 0 {
		t.Errorf("%d viewer events late in a backlog replay: the watermark ran ahead", n)
	}
	if rep.Checked < 100 || r.watermark == math.MinInt64 {
		t.Fatalf("only %d rows compared (watermark %d)", rep.Checked, r.watermark)
	}
	t.Logf("%d stream-minutes equal their SQL recomputation", rep.Checked)
}

func queryCount(t *testing.T, st *store.Store, sql string) int64 {
	t.Helper()
	out, err := st.Backend().Query(context.Background(), sql, "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	fmt.Sscan(string(out), &n)
	return n
}
