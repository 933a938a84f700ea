package rollup_test

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
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

// figures are the exactly recomputable columns of a (stream, minute) rollup row.
const figures = `toString(gmv), orders, buyers, refunds, toString(refund_amount), refunded_orders,
joins, leaves, heartbeats, engagements, count_events, unique_viewers`

// rollupRows reads stream_metrics_1m (last emission of each row, summed over partitions).
func rollupRows(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	return keyed(t, st, `SELECT stream_id, toUnixTimestamp64Milli(minute), `+figures+` FROM (
SELECT stream_id, minute, sum(gmv) AS gmv, sum(orders) AS orders, sum(buyers) AS buyers, sum(refunds) AS refunds,
  sum(refund_amount) AS refund_amount, sum(refunded_orders) AS refunded_orders, sum(joins) AS joins, sum(leaves) AS leaves,
  sum(heartbeats) AS heartbeats, sum(engagements) AS engagements, sum(count_events) AS count_events, sum(unique_viewers) AS unique_viewers
FROM stream_metrics_1m FINAL GROUP BY stream_id, minute)`)
}

// recomputed computes the same figures from the raw tables with plain SQL: the oracle.
func recomputed(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	return keyed(t, st, `
WITH
o AS (SELECT stream_id, toStartOfMinute(ts) AS minute, sum(amount) AS gmv, count() AS orders, uniqExact(buyer_id) AS buyers
      FROM orders WHERE late = 0 GROUP BY stream_id, minute),
owner AS (SELECT order_id, any(stream_id) AS order_stream FROM orders WHERE late = 0 GROUP BY order_id),
r AS (SELECT order_stream AS stream_id, toStartOfMinute(ts) AS minute, count() AS refunds, sum(amount) AS refund_amount,
      uniqExact(order_id) AS refunded_orders
      FROM refunds INNER JOIN owner USING (order_id) WHERE late = 0 GROUP BY stream_id, minute),
v AS (SELECT stream_id, toStartOfMinute(ts) AS minute, countIf(action = 'join') AS joins, countIf(action = 'leave') AS leaves,
      countIf(action = 'heartbeat') AS heartbeats, countIf(action = 'engage') AS engagements, countIf(action = 'count') AS count_events,
      uniqExactIf(viewer_id, action != 'count') AS unique_viewers
      FROM viewer_events WHERE late = 0 GROUP BY stream_id, minute),
k AS (SELECT stream_id, minute FROM o UNION DISTINCT SELECT stream_id, minute FROM r UNION DISTINCT SELECT stream_id, minute FROM v)
SELECT k.stream_id, toUnixTimestamp64Milli(toDateTime64(k.minute, 3, 'UTC')),
  toString(toDecimal64(o.gmv, 2)) AS gmv, o.orders, o.buyers, r.refunds, toString(toDecimal64(r.refund_amount, 2)), r.refunded_orders,
  v.joins, v.leaves, v.heartbeats, v.engagements, v.count_events, v.unique_viewers
FROM k LEFT JOIN o ON o.stream_id = k.stream_id AND o.minute = k.minute
LEFT JOIN r ON r.stream_id = k.stream_id AND r.minute = k.minute
LEFT JOIN v ON v.stream_id = k.stream_id AND v.minute = k.minute
SETTINGS join_use_nulls = 0`)
}

func keyed(t *testing.T, st *store.Store, sql string) map[string]string {
	t.Helper()
	out, err := st.Backend().Query(context.Background(), sql, "TabSeparated")
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	rows := make(map[string]string)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		rows[f[0]+"@"+f[1]] = f[2]
	}
	return rows
}

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
	got, want := rollupRows(t, st), recomputed(t, st)
	if len(got) == 0 {
		t.Fatal("no rollup rows")
	}
	final := r.watermark - time.Minute.Milliseconds() - 60_000
	checked := 0
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var minute int64
		fmt.Sscanf(k[strings.Index(k, "@")+1:], "%d", &minute)
		g, ok := got[k]
		if !ok {
			if minute <= final {
				t.Errorf("%s: final minute has no rollup row; SQL says %s", k, want[k])
			}
			continue
		}
		if g != want[k] {
			t.Errorf("%s:\n rollup %s\n SQL    %s", k, g, want[k])
		}
		checked++
	}
	zero := strings.TrimSpace(strings.Repeat("0\t", 12))
	for k := range got {
		// Rows of minutes without events are fine if they count nothing here (they carry
		// concurrent viewers of sessions still open).
		if _, ok := want[k]; !ok && got[k] != zero {
			t.Errorf("%s: rollup row %s has no events", k, got[k])
		}
	}
	if n := queryCount(t, st, "SELECT count() FROM viewer_events WHERE late = 1"); n > 0 {
		t.Errorf("%d viewer events late in a backlog replay: the watermark ran ahead", n)
	}
	if checked < 100 || r.watermark == math.MinInt64 {
		t.Fatalf("only %d rows compared (watermark %d)", checked, r.watermark)
	}
	t.Logf("%d stream-minutes equal their SQL recomputation", checked)
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
