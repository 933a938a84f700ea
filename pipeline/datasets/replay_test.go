package datasets_test

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/datasets"
	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/rollup"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/pipeline/window"
	"github.com/livepulse/livepulse/schemas"
)

// The real datasets live next to the repository, in <repo root>/../shared/datasets (see its
// README), not in it: a fresh clone has no such folder and these tests skip.
const sharedDir = "../../../shared/datasets"

// openShared opens a gzipped dataset of the shared folder, or skips the test without it.
func openShared(t *testing.T, name string) *gzip.Reader {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("dataset %s not found in %s (see datasets/README.md there): skipping", name, sharedDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

// Replay settings. The data is years old: the decoder accepts any age (PastHorizon -1). Events
// are produced in event-time order, so no event should be late; the lateness is generous all the
// same. OrderRetention covers the whole UCI year, so a refund finds its order in the shard's
// memory, not through a store lookup (see TestReplayUCI). IdleTimeout is short so the end of
// the replay is reached quickly: every source has its whole backlog before the consumer starts,
// and a source with a backlog is never idle.
const (
	partitions     = 4
	lateness       = time.Hour
	orderRetention = 400 * 24 * time.Hour
	idleTimeout    = 2 * time.Second
	maxOutOfOrder  = 5 * time.Second // window's default
	endStream      = "replay-end"
)

// replayed is a finished replay: everything stored, every minute of the data final and written.
type replayed struct {
	st        *store.Store
	watermark int64
	produce   time.Duration // writing the events to the broker
	ingest    time.Duration // from the consumer's start until all is stored
	finish    time.Duration // the end marker, idleness, the last emission
}

// replay produces events (in event-time order) into a fresh in-process broker, keyed by
// stream_id with the Java client's murmur2 partitioner, and runs the real pipeline on them: the
// ingest consumer with the rollup stage, into a fresh embedded ClickHouse. Once everything is
// stored it produces an end marker, a displayed-count event on stream "replay-end" placed
// lateness + 2 min after the last event, and waits until the sources go idle: the watermark then
// reaches the marker, which makes every minute of the data final (unmatched refunds are counted
// only then) — the end-of-input watermark of a bounded replay. Queries leave the marker's stream out.
func replay(t *testing.T, events []schemas.Event) replayed {
	t.Helper()
	st := testenv.Store(t)
	b := testenv.Broker(t, partitions)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := ingest.Config{
		Brokers: []string{b.Addr()}, Partitions: partitions,
		BatchRows: 10_000, FlushInterval: 500 * time.Millisecond,
		Decoder: schemas.DecoderConfig{PastHorizon: -1},
	}
	if err := ingest.EnsureTopics(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{
		Addr:         kafka.TCP(b.Addr()),
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    10_000,
		BatchBytes:   8 << 20,
		BatchTimeout: 5 * time.Millisecond,
	}
	defer w.Close()
	for i := 1; i < len(events); i++ {
		if events[i].Header().TS < events[i-1].Header().TS {
			t.Fatalf("event %d (%s) is before its predecessor", i, events[i].Header().EventID)
		}
	}
	start := time.Now()
	produce(t, ctx, w, events)
	var r replayed
	r.produce = time.Since(start)

	start = time.Now()
	proc := rollup.New(rollup.Config{
		Window:       window.Config{IdleTimeout: idleTimeout, MaxOutOfOrder: maxOutOfOrder},
		Metrics:      metrics.Config{AllowedLateness: lateness, OrderRetention: orderRetention},
		EmitInterval: 200 * time.Millisecond,
	}, st)
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
	waitStored(t, st, int64(len(events)), 2*time.Minute)
	r.ingest = time.Since(start)

	start = time.Now()
	stopProc()
	<-procDone
	r.watermark = finish(t, ctx, w, st, proc, events[len(events)-1].Header().TS, int64(len(events)))
	c.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.finish = time.Since(start)
	r.st = st
	return r
}

// finish is called once all stored messages are in the tables, the last of them at event time
// last: it produces the end marker, waits until the watermark reaches it and emits the minutes,
// all final now. The processor's own emission loop must be stopped. It returns the watermark.
func finish(t *testing.T, ctx context.Context, w *kafka.Writer, st *store.Store, proc *rollup.Processor, last, stored int64) int64 {
	t.Helper()
	marker := schemas.Event{Kind: schemas.KindViewer, Viewer: schemas.Viewer{
		Header: schemas.Header{EventID: endStream, TS: last + (lateness + 2*time.Minute).Milliseconds(), StreamID: endStream, KOLID: endStream},
		Action: schemas.ActionCount,
	}}
	produce(t, ctx, w, []schemas.Event{marker})
	waitStored(t, st, stored+1, time.Minute)
	want := marker.Viewer.TS - maxOutOfOrder.Milliseconds()
	for deadline := time.Now().Add(time.Minute); proc.Watermark() < want; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("watermark %d never reached the end marker's %d", proc.Watermark(), want)
		}
	}
	if err := proc.Emit(context.Background()); err != nil { // every minute of the data is final now
		t.Fatal(err)
	}
	return proc.Watermark()
}

// produce writes events to their kind's default topic, key = stream_id, value = the contract
// JSON, in order (one WriteMessages call at a time, so each partition gets them in order).
func produce(t *testing.T, ctx context.Context, w *kafka.Writer, events []schemas.Event) {
	t.Helper()
	const chunk = 4096
	msgs := make([]kafka.Message, 0, chunk)
	for i := range events {
		ev := &events[i]
		msgs = append(msgs, kafka.Message{Topic: ev.Kind.DefaultTopic(), Key: []byte(ev.Header().StreamID), Value: ev.AppendJSON(nil)})
		if len(msgs) == chunk || i == len(events)-1 {
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				t.Fatalf("cannot produce: %v", err)
			}
			msgs = msgs[:0]
		}
	}
}

// waitStored waits until the tables hold want messages (dead letters included).
func waitStored(t *testing.T, st *store.Store, want int64, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		n := queryInt(t, st, `SELECT (SELECT count() FROM viewer_events) + (SELECT count() FROM orders) +
(SELECT count() FROM refunds) + (SELECT count() FROM dead_letters)`)
		if n == want {
			return
		}
		if n > want || time.Now().After(deadline) {
			t.Fatalf("stored %d of %d messages", n, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// query returns the tab-separated fields of the single row sql returns.
func query(t *testing.T, st *store.Store, sql string) []string {
	t.Helper()
	out, err := st.Backend().Query(context.Background(), sql, "TabSeparated")
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return strings.Split(strings.TrimRight(string(out), "\n"), "\t")
}

// queryRows returns every row of sql, split into fields.
func queryRows(t *testing.T, st *store.Store, sql string) [][]string {
	t.Helper()
	out, err := st.Backend().Query(context.Background(), sql, "TabSeparated")
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows
}

func queryInt(t *testing.T, st *store.Store, sql string) int64 {
	t.Helper()
	return toInt(t, query(t, st, sql)[0])
}

func toInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("not an integer: %q", s)
	}
	return n
}

// toMoney reads a ClickHouse decimal (toString drops trailing zeros: "12.3", "0").
func toMoney(t *testing.T, s string) schemas.Money {
	t.Helper()
	m, err := schemas.ParseMoney(s)
	if err != nil {
		t.Fatalf("not an amount: %q: %v", s, err)
	}
	return m
}

// fig is one compared figure: the name, what the pipeline gives, what the CSV says.
type fig struct {
	name      string
	got, want any
}

func compare(t *testing.T, figs ...fig) {
	t.Helper()
	for _, f := range figs {
		if f.got != f.want {
			t.Errorf("%s: pipeline %v, CSV %v", f.name, f.got, f.want)
		} else {
			t.Logf("%-44s %v", f.name, f.got)
		}
	}
}

// checkNothingLate: in an event-time-ordered replay nothing may be late or a dead letter.
func checkNothingLate(t *testing.T, st *store.Store) {
	t.Helper()
	f := query(t, st, `SELECT (SELECT countIf(late = 1) FROM viewer_events), (SELECT countIf(late = 1) FROM orders),
(SELECT countIf(late = 1) FROM refunds), (SELECT count() FROM dead_letters), (SELECT sum(late_events) FROM stream_metrics_1m FINAL)`)
	if strings.Join(f, " ") != "0 0 0 0 0" {
		t.Errorf("late viewer events, orders, refunds; dead letters; late_events: %v (want none)", f)
	}
}

func logTimes(t *testing.T, read time.Duration, r replayed) {
	t.Logf("timings: read+map %v, produce %v, ingest until stored %v, end marker+final emission %v",
		read.Round(time.Millisecond), r.produce.Round(time.Millisecond), r.ingest.Round(time.Millisecond), r.finish.Round(time.Millisecond))
}

// TestReplayUCI replays the whole UCI Online Retail file (541,909 lines → 19,773 orders and
// 3,422 refunds over 2010-12-01 … 2011-12-09) through the pipeline and checks the stored raw
// tables and the minute rollups against ReadUCI's figures, computed from the CSV alone.
func TestReplayUCI(t *testing.T) {
	zr := openShared(t, "online_retail.csv.gz")
	testenv.Library(t)
	start := time.Now()
	var events []schemas.Event
	stats, err := datasets.ReadUCI(zr, datasets.UCIOptions{}, func(ev schemas.Event) error {
		events = append(events, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	read := time.Since(start)
	t.Logf("UCI: %d lines (%d kept; skipped %v; %d orders and %d refunds without a kept line), %d events, %s … %s",
		stats.Lines, stats.Kept, stats.Skipped, stats.EmptyOrders, stats.EmptyRefunds, len(events), stats.First, stats.Last)
	r := replay(t, events)
	logTimes(t, read, r)
	st := r.st
	checkNothingLate(t, st)

	// (a) The raw tables.
	o := query(t, st, `SELECT count(), toString(sum(amount)), uniqExact(buyer_id), countIf(currency != 'GBP') FROM orders`)
	rf := query(t, st, `WITH (SELECT groupUniqArray(order_id) FROM orders) AS known
SELECT count(), toString(sum(amount)), countIf(has(known, order_id)), toString(sumIf(amount, has(known, order_id))),
  countIf(NOT has(known, order_id)), toString(sumIf(amount, NOT has(known, order_id))),
  uniqExactIf(order_id, has(known, order_id)) FROM refunds`)
	compare(t,
		fig{"raw orders", toInt(t, o[0]), int64(stats.Orders)},
		fig{"raw GMV sum(amount) FROM orders", toMoney(t, o[1]), stats.GMV},
		fig{"raw distinct buyers", toInt(t, o[2]), int64(stats.Buyers)},
		fig{"raw orders not in GBP", toInt(t, o[3]), int64(0)},
		fig{"raw refunds", toInt(t, rf[0]), int64(stats.Refunds)},
		fig{"raw refund amount", toMoney(t, rf[1]), stats.RefundAmount},
		fig{"raw refunds naming a stored order", toInt(t, rf[2]), int64(stats.MatchedRefunds)},
		fig{"raw amount of those", toMoney(t, rf[3]), stats.MatchedRefundAmount},
		fig{"raw refunds naming no stored order", toInt(t, rf[4]), int64(stats.UnmatchedRefunds)},
		fig{"raw amount of those", toMoney(t, rf[5]), stats.UnmatchedRefundAmount},
		fig{"raw refunded orders", toInt(t, rf[6]), int64(stats.RefundedOrders)},
	)

	// (b), (c) The minute rollups, every minute final (the end marker's stream left out).
	m := query(t, st, `SELECT toString(sum(gmv)), sum(orders), sum(refunds), toString(sum(refund_amount)),
  sum(unmatched_refunds), toString(sum(unmatched_refund_amount)), sum(refunded_orders), count()
FROM stream_metrics_1m FINAL WHERE stream_id != '`+endStream+`'`)
	compare(t,
		fig{"rollup Σ gmv", toMoney(t, m[0]), stats.GMV},
		fig{"rollup Σ orders", toInt(t, m[1]), int64(stats.Orders)},
		fig{"rollup Σ refunds (matched)", toInt(t, m[2]), int64(stats.MatchedRefunds)},
		fig{"rollup Σ refund_amount", toMoney(t, m[3]), stats.MatchedRefundAmount},
		fig{"rollup Σ unmatched_refunds", toInt(t, m[4]), int64(stats.UnmatchedRefunds)},
		fig{"rollup Σ unmatched_refund_amount", toMoney(t, m[5]), stats.UnmatchedRefundAmount},
		fig{"rollup Σ refunded_orders (per minute)", toInt(t, m[6]), int64(stats.RefundedOrderMinutes)},
	)
	t.Logf("%d stream-minute rows; final watermark %s", toInt(t, m[7]), time.UnixMilli(r.watermark).UTC())
	// Per stream (country): matched refunds count for their order's stream, unmatched ones for
	// their own.
	rows := queryRows(t, st, `SELECT stream_id, toString(sum(gmv)), sum(orders), sum(refunds), toString(sum(refund_amount)),
  sum(unmatched_refunds), toString(sum(unmatched_refund_amount))
FROM stream_metrics_1m FINAL WHERE stream_id != '`+endStream+`' GROUP BY stream_id ORDER BY stream_id`)
	seen := make(map[string]bool)
	for _, row := range rows {
		want, ok := stats.Streams[row[0]]
		if !ok {
			t.Errorf("rollup has stream %q, the CSV not", row[0])
			continue
		}
		seen[row[0]] = true
		got := datasets.UCIStreamFigures{
			GMV: toMoney(t, row[1]), Orders: int(toInt(t, row[2])), Refunds: int(toInt(t, row[3])), RefundAmount: toMoney(t, row[4]),
			UnmatchedRefunds: int(toInt(t, row[5])), UnmatchedRefundAmount: toMoney(t, row[6]),
		}
		if got != *want {
			t.Errorf("stream %s: rollup %+v, CSV %+v", row[0], got, *want)
		}
	}
	for id := range stats.Streams {
		if !seen[id] {
			t.Errorf("stream %s missing from the rollup", id)
		}
	}
	t.Logf("%d streams (countries) equal per stream", len(seen))

	// (d) The refund rate: refunded orders / orders.
	sqlRefunded, sqlOrders := toInt(t, rf[6]), toInt(t, o[0])
	compare(t,
		fig{"refund rate (SQL over raw tables)", rate(sqlRefunded, sqlOrders), rate(int64(stats.RefundedOrders), int64(stats.Orders))},
		fig{"rollup Σ refunds / Σ orders", rate(toInt(t, m[2]), toInt(t, m[1])), rate(int64(stats.MatchedRefunds), int64(stats.Orders))},
	)
	t.Logf("UCI: GMV £%s in %d orders by %d buyers; %d refunds £%s (%d matched £%s, %d unmatched £%s); refund rate %d/%d = %.4f",
		stats.GMV, stats.Orders, stats.Buyers, stats.Refunds, stats.RefundAmount, stats.MatchedRefunds, stats.MatchedRefundAmount,
		stats.UnmatchedRefunds, stats.UnmatchedRefundAmount, stats.RefundedOrders, stats.Orders, stats.RefundRate())
}

// rate formats a ratio exactly enough to compare two computations of it.
func rate(num, den int64) string {
	if den == 0 {
		return "NaN"
	}
	return strconv.FormatFloat(float64(num)/float64(den), 'f', 6, 64) + fmt.Sprintf(" (%d/%d)", num, den)
}

// TestReplayTaobao replays the whole Taobao sample (110,300 rows, 2017-11-26 01:00 … 03:10 UTC)
// and checks the stored tables and the minute rollups against ReadTaobao's figures.
func TestReplayTaobao(t *testing.T) {
	zr := openShared(t, "taobao_user_behavior_sample.csv.gz")
	testenv.Library(t)
	start := time.Now()
	var events []schemas.Event
	stats, err := datasets.ReadTaobao(zr, func(ev schemas.Event) error {
		events = append(events, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	read := time.Since(start)
	t.Logf("Taobao: %d rows %v, %d streams (categories), %d sessions, %s … %s",
		stats.Rows, stats.ByBehavior, stats.Streams, stats.Sessions, stats.First, stats.Last)
	r := replay(t, events)
	logTimes(t, read, r)
	st := r.st
	checkNothingLate(t, st)

	// (a) The raw tables.
	v := query(t, st, `SELECT countIf(action = 'join'), countIf(action = 'heartbeat'), countIf(action = 'engage' AND kind = 'like'),
  countIf(action = 'engage' AND kind = 'follow'), uniqExact(viewer_id), uniqExact(session_id), uniqExact(stream_id)
FROM viewer_events WHERE stream_id != '`+endStream+`'`)
	o := query(t, st, `SELECT count(), toString(sum(amount)), uniqExact(buyer_id),
  uniqExactIf(buyer_id, buyer_id IN (SELECT viewer_id FROM viewer_events WHERE stream_id != '`+endStream+`')) FROM orders`)
	compare(t,
		fig{"raw joins", toInt(t, v[0]), int64(stats.Joins)},
		fig{"raw heartbeats", toInt(t, v[1]), int64(stats.Heartbeats)},
		fig{"raw engages (like)", toInt(t, v[2]), int64(stats.Likes)},
		fig{"raw engages (follow)", toInt(t, v[3]), int64(stats.Follows)},
		fig{"raw distinct viewers uniqExact(viewer_id)", toInt(t, v[4]), int64(stats.Viewers)},
		fig{"raw distinct sessions", toInt(t, v[5]), int64(stats.Sessions)},
		fig{"raw orders", toInt(t, o[0]), int64(stats.Orders)},
		fig{"raw GMV (synthetic prices)", toMoney(t, o[1]), stats.GMV},
		fig{"raw distinct buyers uniqExact(buyer_id)", toInt(t, o[2]), int64(stats.Buyers)},
		fig{"raw buyers who are viewers", toInt(t, o[3]), int64(stats.ViewersWhoBought)},
	)

	// (b) The minute rollups.
	m := query(t, st, `SELECT toString(sum(gmv)), sum(orders), sum(joins), sum(heartbeats), sum(engagements), count(), uniqExact(stream_id)
FROM stream_metrics_1m FINAL WHERE stream_id != '`+endStream+`'`)
	compare(t,
		fig{"rollup Σ gmv", toMoney(t, m[0]), stats.GMV},
		fig{"rollup Σ orders", toInt(t, m[1]), int64(stats.Orders)},
		fig{"rollup Σ joins", toInt(t, m[2]), int64(stats.Joins)},
		fig{"rollup Σ heartbeats", toInt(t, m[3]), int64(stats.Heartbeats)},
		fig{"rollup Σ engagements", toInt(t, m[4]), int64(stats.Engagements())},
		fig{"rollup streams", toInt(t, m[6]), int64(stats.Streams)},
	)
	t.Logf("%d stream-minute rows; final watermark %s", toInt(t, m[5]), time.UnixMilli(r.watermark).UTC())

	// (d) The conversion rate: distinct buyers / distinct viewers.
	compare(t, fig{"conversion rate (SQL uniqExact over raw tables)",
		rate(toInt(t, o[2]), toInt(t, v[4])), rate(int64(stats.Buyers), int64(stats.Viewers))})
	if math.Abs(stats.ConversionRate()-float64(stats.Buyers)/float64(stats.Viewers)) > 0 {
		t.Errorf("ConversionRate %v", stats.ConversionRate())
	}
	t.Logf("Taobao: %d viewers (%d with a page view), %d buyers (%d of them viewers): conversion %.4f; %d orders, synthetic GMV ¥%s",
		stats.Viewers, stats.PageViewers, stats.Buyers, stats.ViewersWhoBought, stats.ConversionRate(), stats.Orders, stats.GMV)
}
