package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// message is one produced message and what the pipeline must make of it.
type message struct {
	kind   schemas.Kind
	key    string
	value  []byte
	reason schemas.Reason // "" for a valid event
}

// corpus returns n valid events of every kind plus one malformed message per dead-letter reason
// that a producer can cause.
func corpus(n int, now time.Time) (msgs []message, gmv schemas.Money) {
	ts := now.Add(-time.Minute).UnixMilli()
	for i := 0; i < n; i++ {
		stream := fmt.Sprintf("s-%03d", i%37)
		h := schemas.Header{EventID: fmt.Sprintf("e2e-%d", i), TS: ts + int64(i), StreamID: stream, KOLID: "kol-" + stream[2:], Platform: "douyin"}
		var ev schemas.Event
		switch i % 5 {
		case 0, 1, 2:
			ev = schemas.Event{Kind: schemas.KindViewer, Viewer: schemas.Viewer{Header: h, Action: schemas.ActionJoin, ViewerID: "v" + strconv.Itoa(i)}}
		case 3:
			amount := schemas.Money(990 + i%100*101)
			gmv += amount
			ev = schemas.Event{Kind: schemas.KindOrder, Order: schemas.Order{Header: h, OrderID: "o" + strconv.Itoa(i), BuyerID: "b", Quantity: 1, Amount: amount, Currency: "CNY"}}
		case 4:
			ev = schemas.Event{Kind: schemas.KindRefund, Refund: schemas.Refund{Header: h, RefundID: "r" + strconv.Itoa(i), OrderID: "o" + strconv.Itoa(i-1), Amount: 990, Currency: "CNY"}}
		}
		msgs = append(msgs, message{kind: ev.Kind, key: stream, value: ev.AppendJSON(nil)})
	}
	header := func(id string) string {
		return `"event_id":"` + id + `","ts":` + strconv.FormatInt(ts, 10) + `,"stream_id":"s-bad","kol_id":"k"`
	}
	bad := []message{
		{schemas.KindViewer, "s-bad", []byte(`{"event_id":`), schemas.ReasonNotJSON},
		{schemas.KindViewer, "s-bad", []byte("{\"event_id\":\"\xff\xfe\"}"), schemas.ReasonNotUTF8},
		{schemas.KindViewer, "s-bad", []byte(`[1,2,3]`), schemas.ReasonNotObject},
		{schemas.KindViewer, "s-bad", []byte(`{` + header("bad-1") + `,"action":"dance","viewer_id":"v"}`), schemas.ReasonUnknownAction},
		{schemas.KindViewer, "s-bad", []byte(`{` + header("bad-2") + `,"action":"join"}`), schemas.ReasonMissingField},
		{schemas.KindOrder, "s-bad", []byte(`{` + header("bad-3") + `,"order_id":"o","buyer_id":"b","amount":-5}`), schemas.ReasonNegativeAmount},
		{schemas.KindOrder, "s-bad", []byte(`{` + header("bad-4") + `,"order_id":"o","buyer_id":"b","amount":"1.005"}`), schemas.ReasonBadAmount},
		{schemas.KindOrder, "s-bad", []byte(`{"event_id":"bad-5","ts":"yesterday","stream_id":"s","kol_id":"k","order_id":"o","buyer_id":"b","amount":1}`), schemas.ReasonBadTimestamp},
		{schemas.KindRefund, "s-bad", []byte(`{` + header("bad-6") + `,"refund_id":7,"order_id":"o","amount":1}`), schemas.ReasonWrongType},
		{schemas.KindRefund, "s-bad", []byte(`{"event_id":"bad-7","ts":` + strconv.FormatInt(now.Add(time.Hour).UnixMilli(), 10) + `,"stream_id":"s","kol_id":"k","refund_id":"r","order_id":"o","amount":1}`), schemas.ReasonFutureTimestamp},
		{schemas.KindRefund, "s-bad", []byte(`{"event_id":"bad-8","ts":"2020-01-01T00:00:00Z","stream_id":"s","kol_id":"k","refund_id":"r","order_id":"o","amount":1}`), schemas.ReasonStaleTimestamp},
		{schemas.KindOrder, "s-bad", append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 70<<10)...), `"}`...), schemas.ReasonTooLarge},
	}
	return append(msgs, bad...), gmv
}

func produceKafkaGo(t *testing.T, addr string, msgs []message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(addr), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, BatchSize: 1000}
	defer w.Close()
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafka.Message{Topic: m.kind.DefaultTopic(), Key: []byte(m.key), Value: m.value}
	}
	if err := w.WriteMessages(context.Background(), out...); err != nil {
		t.Fatal(err)
	}
}

// produceKcat writes msgs with Debian's kcat (librdkafka): a client nobody here wrote.
func produceKcat(t *testing.T, addr string, msgs []message) {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat is needed (scripts/setup.sh --test installs it): %v", err)
	}
	byTopic := map[string]*bytes.Buffer{}
	for _, m := range msgs {
		if bytes.ContainsAny(m.value, "\n\t") {
			t.Fatalf("kcat's line format cannot carry %q", m.value)
		}
		topic := m.kind.DefaultTopic()
		if byTopic[topic] == nil {
			byTopic[topic] = &bytes.Buffer{}
		}
		fmt.Fprintf(byTopic[topic], "%s\t%s\n", m.key, m.value)
	}
	for topic, in := range byTopic {
		cmd := exec.Command(path, "-b", addr, "-P", "-t", topic, "-K", "\t", "-X", "partitioner=murmur2_random", "-X", "message.max.bytes=1000000")
		cmd.Stdin = in
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat produce to %s: %v\n%s", topic, err, out)
		}
	}
}

func queryInt(t *testing.T, st *store.Store, sql string) int64 {
	t.Helper()
	out, err := st.Backend().Query(context.Background(), sql, "TabSeparated")
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %q: %v", sql, out, err)
	}
	return n
}

func queryString(t *testing.T, st *store.Store, sql string) string {
	t.Helper()
	out, err := st.Backend().Query(context.Background(), sql, "TabSeparated")
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return strings.TrimSpace(string(out))
}

func runConsumer(t *testing.T, cfg ingest.Config, st *store.Store) (stop func()) {
	t.Helper()
	c, err := ingest.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	return func() {
		c.Stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("consumer: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("consumer did not stop within 60 s")
		}
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEndToEnd produces valid and malformed events through two real clients over TCP and checks
// that ClickHouse holds exactly one row per valid event, one dead letter per malformed message with
// its reason and raw bytes, that offsets are committed, and that a restart stores nothing twice.
func TestEndToEnd(t *testing.T) {
	const partitions = 4
	b := testenv.Broker(t, partitions)
	st := testenv.Store(t)
	now := time.Now()
	msgs, gmv := corpus(6000, now)
	if err := ingest.EnsureTopics(context.Background(), ingest.Config{Brokers: []string{b.Addr()}, Partitions: partitions}); err != nil {
		t.Fatal(err)
	}
	// Half through kafka-go, half through kcat; the too-large message only via kafka-go (kcat's
	// line reader is fine with it, but keep the kcat half to printable lines).
	var viaKcat, viaGo []message
	for i, m := range msgs {
		if i%2 == 0 && m.reason != schemas.ReasonTooLarge && m.reason != schemas.ReasonNotUTF8 {
			viaKcat = append(viaKcat, m)
		} else {
			viaGo = append(viaGo, m)
		}
	}
	produceKcat(t, b.Addr(), viaKcat)
	produceKafkaGo(t, b.Addr(), viaGo)

	want := map[string]int64{}
	wantReasons := map[schemas.Reason]int64{}
	for _, m := range msgs {
		if m.reason != "" {
			want["dead_letters"]++
			wantReasons[m.reason]++
			continue
		}
		want[schemas.TableFor(m.kind).Name]++
	}
	total := int64(len(msgs))

	cfg := ingest.Config{Brokers: []string{b.Addr()}, GroupID: "e2e", BatchRows: 1000, FlushInterval: 200 * time.Millisecond}
	stop := runConsumer(t, cfg, st)
	stored := func() int64 {
		return queryInt(t, st, "SELECT (SELECT count() FROM viewer_events) + (SELECT count() FROM orders) + (SELECT count() FROM refunds) + (SELECT count() FROM dead_letters)")
	}
	waitFor(t, "all rows stored", 60*time.Second, func() bool { return stored() >= total })
	stop()

	for _, tbl := range schemas.Tables {
		if got := queryInt(t, st, "SELECT count() FROM "+tbl.Name); got != want[tbl.Name] {
			t.Errorf("%s: %d rows, want %d", tbl.Name, got, want[tbl.Name])
		}
		if tbl.Kind != 0 {
			if got := queryInt(t, st, "SELECT uniqExact(event_id) FROM "+tbl.Name); got != want[tbl.Name] {
				t.Errorf("%s: %d distinct event ids, want %d", tbl.Name, got, want[tbl.Name])
			}
		}
	}
	for reason, n := range wantReasons {
		if got := queryInt(t, st, "SELECT count() FROM dead_letters WHERE reason = '"+string(reason)+"'"); got != n {
			t.Errorf("dead letters with reason %s: %d, want %d", reason, got, n)
		}
	}
	if got := queryString(t, st, "SELECT hex(raw) FROM dead_letters WHERE reason = 'not_utf8'"); got != fmt.Sprintf("%X", "{\"event_id\":\"\xff\xfe\"}") {
		t.Errorf("dead letter raw bytes changed: %s", got)
	}
	if got, err := schemas.ParseMoney(queryString(t, st, "SELECT sum(amount) FROM orders")); err != nil || got != gmv {
		t.Errorf("GMV %s (%v), want %s (exact)", got, err, gmv)
	}
	// Every message has exactly one row, found by its Kafka position.
	for _, k := range schemas.Kinds {
		topic := k.DefaultTopic()
		hw := testenv.HighWatermarks(t, b.Addr(), topic)
		var end int64
		for _, o := range hw {
			end += o
		}
		positions := queryInt(t, st, fmt.Sprintf(
			"SELECT uniqExact(kafka_partition, kafka_offset) FROM (SELECT kafka_partition, kafka_offset FROM %s WHERE kafka_topic = '%s' UNION ALL SELECT kafka_partition, kafka_offset FROM dead_letters WHERE kafka_topic = '%s')",
			schemas.TableFor(k).Name, topic, topic))
		if positions != end {
			t.Errorf("%s: %d distinct stored positions, broker holds %d messages", topic, positions, end)
		}
		committed := testenv.Committed(t, b.Addr(), "e2e", topic, partitions)
		for p, o := range hw {
			if committed[p] != o {
				t.Errorf("%s/%d: committed %d, want the high watermark %d", topic, p, committed[p], o)
			}
		}
	}
	// The dead-letter topic got every dead letter, with its source position.
	dlq := testenv.HighWatermarks(t, b.Addr(), "livepulse.dlq")
	var dlqN int64
	for _, o := range dlq {
		dlqN += o
	}
	if dlqN != want["dead_letters"] {
		t.Errorf("dead-letter topic holds %d messages, want %d", dlqN, want["dead_letters"])
	}

	// A restart from the committed offsets stores nothing again; rewinding the group to the start
	// (as after a crash before any commit) stores nothing again either.
	rewind := ingest.Config{Brokers: []string{b.Addr()}, GroupID: "e2e-rewound", BatchRows: 1000, FlushInterval: 200 * time.Millisecond}
	stop = runConsumer(t, rewind, st)
	waitFor(t, "the rewound group to catch up", 60*time.Second, func() bool {
		c := testenv.Committed(t, b.Addr(), "e2e-rewound", "livepulse.viewer", partitions)
		hw := testenv.HighWatermarks(t, b.Addr(), "livepulse.viewer")
		for p, o := range hw {
			if c[p] != o {
				return false
			}
		}
		return true
	})
	stop()
	if got := stored(); got != total {
		t.Errorf("after re-reading everything: %d rows stored, want %d (no duplicates)", got, total)
	}
}
