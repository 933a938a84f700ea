package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/broker"
	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// The fault tests: each injects one kind of fault while a producer keeps writing and checks with
// the delivery oracle (testenv.ExactlyOnce) that ClickHouse ends up holding every message
// exactly once. Short versions run in CI; LIVEPULSE_CHAOS_LONG=1 runs the longer matrix.

func chaosLong() bool { return os.Getenv("LIVEPULSE_CHAOS_LONG") == "1" }

// rounds is how many times a test injects its fault: once in CI, more in the long matrix.
func rounds() int {
	if chaosLong() {
		return 4
	}
	return 1
}

// traffic writes events of every kind (one malformed message in 500) until stopped, retrying
// while the broker is down.
type traffic struct {
	w       *kafka.Writer
	name    string
	base    int64
	next    int
	perTick int
	written atomic.Int64
	stop    chan struct{}
	done    chan struct{}
}

func startTraffic(t *testing.T, addr, name string, perTick int) *traffic {
	t.Helper()
	newWriter := func() *kafka.Writer {
		return &kafka.Writer{Addr: kafka.TCP(addr), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
			BatchSize: 1000, MaxAttempts: 3, WriteTimeout: 5 * time.Second}
	}
	tr := &traffic{name: name, perTick: perTick, base: time.Now().Add(-30 * time.Minute).UnixMilli(), stop: make(chan struct{}), done: make(chan struct{}),
		w: newWriter()}
	go func() {
		defer func() { tr.w.Close() }()
		defer close(tr.done)
		for {
			select {
			case <-tr.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			msgs := tr.batch(tr.perTick)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := tr.w.WriteMessages(ctx, msgs...)
				cancel()
				if err == nil {
					tr.written.Add(int64(len(msgs)))
					break
				}
				// Some may have been written: resending them is a producer's at-least-once, and
				// the oracle counts the broker's offsets, not what we meant to send. A fresh
				// writer: one that saw the broker go away may keep failing.
				tr.w.Close()
				tr.w = newWriter()
				select {
				case <-tr.stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}
	}()
	t.Cleanup(tr.halt)
	return tr
}

func (tr *traffic) batch(n int) []kafka.Message {
	msgs := make([]kafka.Message, 0, n)
	for i := 0; i < n; i++ {
		id := tr.next
		tr.next++
		stream := fmt.Sprintf("s-%02d", id%17)
		h := schemas.Header{EventID: tr.name + "-" + strconv.Itoa(id), TS: tr.base + int64(id), StreamID: stream, KOLID: "k" + stream}
		ev := schemas.Event{Kind: schemas.KindViewer, Viewer: schemas.Viewer{Header: h, Action: schemas.ActionHeartbeat, ViewerID: "v"}}
		switch id % 10 {
		case 7, 8:
			ev = schemas.Event{Kind: schemas.KindOrder, Order: schemas.Order{Header: h, OrderID: "o" + strconv.Itoa(id), BuyerID: "b", Quantity: 1, Amount: 1999, Currency: "CNY"}}
		case 9:
			ev = schemas.Event{Kind: schemas.KindRefund, Refund: schemas.Refund{Header: h, RefundID: "r" + strconv.Itoa(id), OrderID: "o" + strconv.Itoa(id-2), Amount: 500, Currency: "CNY"}}
		}
		value := ev.AppendJSON(nil)
		if id%500 == 499 {
			value = []byte(`{"event_id":"broken-` + strconv.Itoa(id))
		}
		msgs = append(msgs, kafka.Message{Topic: ev.Kind.DefaultTopic(), Key: []byte(stream), Value: value})
	}
	return msgs
}

// halt stops producing and waits for the producer to finish its last write.
func (tr *traffic) halt() {
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	<-tr.done
}

// storedRows counts the rows of the event tables and dead letters.
func storedRows(b store.Backend) (int64, error) {
	out, err := b.Query(context.Background(), "SELECT (SELECT count() FROM viewer_events) + (SELECT count() FROM orders) + (SELECT count() FROM refunds) + (SELECT count() FROM dead_letters)", "TabSeparated")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

// brokerMessages is the number of messages in the event topics.
func brokerMessages(t *testing.T, addr string) int64 {
	var n int64
	for _, k := range schemas.Kinds {
		for _, o := range testenv.HighWatermarks(t, addr, k.DefaultTopic()) {
			n += o
		}
	}
	return n
}

// waitStored waits until b holds at least n rows (store errors count as not yet).
func waitStored(t *testing.T, b store.Backend, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, err := storedRows(b)
		if err == nil && got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored %d rows (%v), want %d within %v", got, err, n, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// drainAndCheck stops the traffic, waits for the consumer to store everything in the broker,
// stops it and runs the oracle.
func drainAndCheck(t *testing.T, tr *traffic, addr string, b store.Backend, stop func()) {
	t.Helper()
	tr.halt()
	want := brokerMessages(t, addr)
	waitStored(t, b, want, 120*time.Second)
	stop()
	testenv.CheckExactlyOnce(t, addr, b)
}

func chaosConfig(addr, group string) ingest.Config {
	return ingest.Config{Brokers: []string{addr}, GroupID: group, Partitions: 4, BatchRows: 500, FlushInterval: 100 * time.Millisecond,
		RetryBackoff: 50 * time.Millisecond, Metrics: ingest.NewMetrics(nil)}
}

// flakyBackend is a store that can be taken down: every call fails while down.
type flakyBackend struct {
	store.Backend
	down atomic.Bool
}

var errStoreDown = errors.New("store unavailable (test)")

func (f *flakyBackend) Insert(ctx context.Context, ingest time.Time, chunks ...store.Rows) error {
	if f.down.Load() {
		return errStoreDown
	}
	return f.Backend.Insert(ctx, ingest, chunks...)
}

func (f *flakyBackend) Query(ctx context.Context, sql, format string) ([]byte, error) {
	if f.down.Load() {
		return nil, errStoreDown
	}
	return f.Backend.Query(ctx, sql, format)
}

// TestChaosStoreOutage takes the store away while a producer keeps writing: consumption pauses
// with a bounded number of messages held (InFlightBatches per partition), memory stays flat, and
// when the store returns the backlog drains, exactly once.
func TestChaosStoreOutage(t *testing.T) {
	b := testenv.Broker(t, 4)
	base := testenv.Store(t)
	flaky := &flakyBackend{Backend: base.Backend()}
	st := store.New(flaky, nil)
	cfg := chaosConfig(b.Addr(), "outage")
	cfg.InFlightBatches, cfg.FetchBuffer = 2, 500
	if err := ingest.EnsureTopics(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	tr := startTraffic(t, b.Addr(), "outage", 100)
	stop := runConsumer(t, cfg, st)
	consumed := func() int64 {
		var n float64
		for _, k := range schemas.Kinds {
			n += testutil.ToFloat64(cfg.Metrics.Consumed.WithLabelValues(k.DefaultTopic()))
		}
		return int64(n)
	}
	// Each of the 12 partition consumers holds at most its in-flight batches plus the one it is
	// sealing; whatever else is waiting stays in Kafka.
	bound := int64(12 * (cfg.InFlightBatches + 1) * cfg.BatchRows)
	outage := 4 * time.Second
	if chaosLong() {
		outage = 20 * time.Second
	}
	var heap runtime.MemStats
	for r := 0; r < rounds(); r++ {
		waitStored(t, flaky, max(tr.written.Load()/2, 3000), 60*time.Second)
		stored, _ := storedRows(flaky)
		flaky.down.Store(true)
		time.Sleep(outage / 2)
		c1 := consumed()
		runtime.GC()
		runtime.ReadMemStats(&heap)
		h1 := heap.HeapAlloc
		time.Sleep(outage / 2)
		c2 := consumed()
		runtime.GC()
		runtime.ReadMemStats(&heap)
		h2 := heap.HeapAlloc
		t.Logf("outage %d: %d rows stored before; consumed %d then %d (held %d, bound %d); heap %d MiB then %d MiB; %d produced",
			r+1, stored, c1, c2, c2-stored, bound, h1>>20, h2>>20, tr.written.Load())
		if c2 != c1 {
			t.Errorf("consumption did not pause: %d messages consumed during the second half of the outage", c2-c1)
		}
		if c2-stored > bound {
			t.Errorf("%d messages held in memory during the outage, bound %d", c2-stored, bound)
		}
		if h2 > h1+32<<20 {
			t.Errorf("heap grew from %d to %d MiB during the outage", h1>>20, h2>>20)
		}
		flaky.down.Store(false)
	}
	drainAndCheck(t, tr, b.Addr(), base.Backend(), stop)
}

// TestChaosBrokerRestart stops the broker (its log on disk) and starts it again on the same
// address and directory while the consumer runs and a producer keeps writing.
func TestChaosBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Start(broker.Config{DataDir: dir, Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	defer func() { b.Close() }()
	st := testenv.Store(t)
	cfg := chaosConfig(addr, "restart")
	if err := ingest.EnsureTopics(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	tr := startTraffic(t, addr, "restart", 100)
	stop := runConsumer(t, cfg, st)
	for r := 0; r < rounds(); r++ {
		waitStored(t, st.Backend(), max(tr.written.Load()/2, 3000), 60*time.Second)
		b.Close()
		t.Logf("broker stopped (round %d), %d produced", r+1, tr.written.Load())
		time.Sleep(2 * time.Second)
		before := tr.written.Load()
		if b, err = broker.Start(broker.Config{Listen: addr, DataDir: dir, Partitions: 4}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the producer to write again", 60*time.Second, func() bool { return tr.written.Load() >= before+2000 })
		waitStored(t, st.Backend(), tr.written.Load(), 90*time.Second)
	}
	drainAndCheck(t, tr, addr, st.Backend(), stop)
}

// TestChaosRebalance scales the consumers 1 → 2 → 1 during traffic: partitions move between
// instances (rebalances) both ways; the long matrix also removes one abruptly (its context
// cancelled: nothing more flushed or committed).
func TestChaosRebalance(t *testing.T) {
	b := testenv.Broker(t, 4)
	st := testenv.Store(t)
	cfg := chaosConfig(b.Addr(), "scale")
	if err := ingest.EnsureTopics(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	tr := startTraffic(t, b.Addr(), "scale", 100)
	stopFirst := runConsumer(t, cfg, st)
	for r := 0; r < rounds(); r++ {
		waitStored(t, st.Backend(), max(tr.written.Load()/2, 3000), 60*time.Second)
		second := cfg
		second.Metrics = ingest.NewMetrics(nil)
		c, err := ingest.New(second, st)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		waitFor(t, "the second instance to take partitions", 60*time.Second, func() bool { return testutil.ToFloat64(second.Metrics.Assigned) > 0 })
		waitStored(t, st.Backend(), tr.written.Load(), 60*time.Second)
		if r%2 == 1 {
			cancel() // abrupt: what it had not committed is re-read by the survivor
			t.Logf("round %d: second instance dropped abruptly", r+1)
		} else {
			c.Stop()
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		cancel()
		t.Logf("round %d: scaled 1 → 2 → 1, %d produced", r+1, tr.written.Load())
	}
	drainAndCheck(t, tr, b.Addr(), st.Backend(), stopFirst)
}

// TestChaosClickHouseServerKill drives the consumer into a real clickhouse-server over
// clickhouse-go (the server backend) and kills the server with SIGKILL mid-stream, restarting it
// on the same data. Debian's server is 18.16: the tables use the nearest older types, and
// deduplication by event_id is off (its seed query needs a modern server).
func TestChaosClickHouseServerKill(t *testing.T) {
	srv := testenv.StartClickHouseServer(t)
	b := testenv.Broker(t, 4)
	ctx := context.Background()
	sb, err := store.OpenServer(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	for _, tbl := range schemas.Tables {
		if tbl.Kind == 0 && tbl != schemas.DeadLetters {
			continue
		}
		var cols []string
		for _, c := range tbl.Columns {
			typ := strings.NewReplacer("DateTime64(3, 'UTC')", "DateTime", "LowCardinality(String)", "String").Replace(c.Type.ClickHouse())
			cols = append(cols, c.Name+" "+typ)
		}
		ddl := fmt.Sprintf("CREATE TABLE %s (%s) ENGINE = MergeTree PARTITION BY toDate(ingest_time) ORDER BY (kafka_topic, kafka_partition, kafka_offset)",
			tbl.Name, strings.Join(cols, ", "))
		if err := sb.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}
	st := store.New(sb, nil)
	cfg := chaosConfig(b.Addr(), "server-kill")
	cfg.DedupeMaxEvents = -1
	if err := ingest.EnsureTopics(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	tr := startTraffic(t, b.Addr(), "server-kill", 100)
	stop := runConsumer(t, cfg, st)
	for r := 0; r < rounds(); r++ {
		waitStored(t, sb, max(tr.written.Load()/2, 3000), 60*time.Second)
		srv.Kill()
		t.Logf("clickhouse-server killed (round %d), %d produced", r+1, tr.written.Load())
		time.Sleep(2 * time.Second)
		srv.Start(t)
		waitStored(t, sb, tr.written.Load(), 90*time.Second)
	}
	if n := testutil.ToFloat64(cfg.Metrics.InsertErrors.WithLabelValues("viewer_events")); n == 0 {
		t.Error("no insert failed: the kill did not land while the consumer was writing")
	}
	drainAndCheck(t, tr, b.Addr(), sb, stop)
}

// TestOracleNegativeControl proves the oracle is not vacuous: after a clean run it passes; one
// batch inserted twice (a double delivery) and one lost row are each caught.
func TestOracleNegativeControl(t *testing.T) {
	b := testenv.Broker(t, 4)
	st := testenv.Store(t)
	cfg := chaosConfig(b.Addr(), "control")
	if err := ingest.EnsureTopics(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	tr := startTraffic(t, b.Addr(), "control", 100)
	waitFor(t, "some traffic", 30*time.Second, func() bool { return tr.written.Load() >= 2000 })
	stop := runConsumer(t, cfg, st)
	drainAndCheck(t, tr, b.Addr(), st.Backend(), stop)

	exact := func() bool {
		for _, d := range testenv.ExactlyOnce(t, b.Addr(), st.Backend()) {
			if !d.Exact() {
				t.Logf("caught: %s", d)
				return false
			}
		}
		return true
	}
	// A double delivery: one partition's batch of orders inserted again, as a consumer that
	// ignored the stored offsets would.
	if err := st.Backend().Exec(context.Background(), "INSERT INTO orders SELECT * FROM orders WHERE kafka_partition = 1 ORDER BY kafka_offset LIMIT 50"); err != nil {
		t.Fatal(err)
	}
	if exact() {
		t.Fatal("the oracle missed a double delivery")
	}
	// Lost messages: a partition's orders gone.
	if err := st.Backend().Exec(context.Background(), "ALTER TABLE orders DELETE WHERE kafka_partition = 1 SETTINGS mutations_sync = 2"); err != nil {
		t.Fatal(err)
	}
	if exact() {
		t.Fatal("the oracle missed lost messages")
	}
}
