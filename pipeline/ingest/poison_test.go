package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// poison is one hostile message and the dead-letter reason it must get.
type poison struct {
	name   string
	kind   schemas.Kind
	value  []byte
	reason schemas.Reason
}

// poisons returns every hostile kind of message the issue names, for stream key; ts is a valid
// event time. Duplicates refer to events valid() produces for the same key.
func poisons(key string, ts int64) []poison {
	h := func(id string) string {
		return `"event_id":"` + id + `","ts":` + strconv.FormatInt(ts, 10) + `,"stream_id":"` + key + `","kol_id":"k"`
	}
	order := func(id, amount string) []byte {
		return []byte(`{` + h(id) + `,"order_id":"o","buyer_id":"b","amount":` + amount + `}`)
	}
	return []poison{
		{"invalid UTF-8", schemas.KindViewer, []byte("{\"event_id\":\"\xff\xfe\",\"ts\":1}"), schemas.ReasonNotUTF8},
		{"overlong UTF-8", schemas.KindViewer, []byte("{" + h("p-overlong") + ",\"action\":\"join\",\"viewer_id\":\"\xc0\xaf\"}"), schemas.ReasonNotUTF8},
		{"lone surrogate escape", schemas.KindViewer, []byte(`{` + h("p-surrogate") + `,"action":"join","viewer_id":"\ud800"}`), schemas.ReasonNotUTF8},
		{"huge", schemas.KindOrder, append(append([]byte(`{`+h("p-huge")+`,"pad":"`), bytes.Repeat([]byte("x"), 900<<10)...), `"}`...), schemas.ReasonTooLarge},
		{"deeply nested", schemas.KindViewer, []byte(`{` + h("p-nested") + `,"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`), schemas.ReasonNotJSON},
		{"nested within the size limit", schemas.KindViewer, []byte(`{"x":` + strings.Repeat(`{"a":`, 400) + `1` + strings.Repeat("}", 400) + `}`), schemas.ReasonNotJSON},
		{"empty", schemas.KindViewer, []byte{}, schemas.ReasonNotJSON},
		{"NUL bytes", schemas.KindViewer, []byte("\x00\x00\x00"), schemas.ReasonNotJSON},
		{"two values", schemas.KindViewer, []byte(`{` + h("p-two") + `,"action":"join","viewer_id":"v"} {}`), schemas.ReasonNotJSON},
		{"not an object", schemas.KindRefund, []byte(`"refund"`), schemas.ReasonNotObject},
		{"wrong type: amount", schemas.KindOrder, order("p-amount-bool", "true"), schemas.ReasonWrongType},
		{"wrong type: quantity as string", schemas.KindOrder, []byte(`{` + h("p-qty") + `,"order_id":"o","buyer_id":"b","quantity":"2","amount":1}`), schemas.ReasonWrongType},
		{"wrong type: event_id number", schemas.KindViewer, []byte(`{"event_id":7,"ts":` + strconv.FormatInt(ts, 10) + `,"stream_id":"s","kol_id":"k","action":"join","viewer_id":"v"}`), schemas.ReasonWrongType},
		{"wrong type: action object", schemas.KindViewer, []byte(`{` + h("p-action") + `,"action":{"join":1},"viewer_id":"v"}`), schemas.ReasonWrongType},
		{"NaN string", schemas.KindOrder, order("p-nan", `"NaN"`), schemas.ReasonBadAmount},
		{"NaN literal", schemas.KindOrder, order("p-nan-literal", `NaN`), schemas.ReasonNotJSON},
		{"Infinity", schemas.KindOrder, order("p-inf", `"Infinity"`), schemas.ReasonBadAmount},
		{"negative amount", schemas.KindOrder, order("p-neg", `-0.01`), schemas.ReasonNegativeAmount},
		{"negative refund", schemas.KindRefund, []byte(`{` + h("p-neg-refund") + `,"refund_id":"r","order_id":"o","amount":"-5.00"}`), schemas.ReasonNegativeAmount},
		{"absurd amount", schemas.KindOrder, order("p-absurd", `1e30`), schemas.ReasonBadAmount},
		{"amount just over the limit", schemas.KindOrder, order("p-over", `"1000000000.01"`), schemas.ReasonBadAmount},
		{"sub-cent amount", schemas.KindOrder, order("p-subcent", `"1.005"`), schemas.ReasonBadAmount},
		{"absurd quantity", schemas.KindOrder, []byte(`{` + h("p-bigqty") + `,"order_id":"o","buyer_id":"b","quantity":99999999999,"amount":1}`), schemas.ReasonBadValue},
		{"timestamp 1970", schemas.KindViewer, []byte(`{"event_id":"p-1970","ts":0,"stream_id":"` + key + `","kol_id":"k","action":"join","viewer_id":"v"}`), schemas.ReasonStaleTimestamp},
		{"timestamp 1970 RFC 3339", schemas.KindRefund, []byte(`{"event_id":"p-1970b","ts":"1970-01-01T00:00:00Z","stream_id":"` + key + `","kol_id":"k","refund_id":"r","order_id":"o","amount":1}`), schemas.ReasonStaleTimestamp},
		{"timestamp 2100", schemas.KindViewer, []byte(`{"event_id":"p-2100","ts":"2100-01-01T00:00:00Z","stream_id":"` + key + `","kol_id":"k","action":"join","viewer_id":"v"}`), schemas.ReasonFutureTimestamp},
		{"timestamp in seconds", schemas.KindOrder, []byte(`{"event_id":"p-secs","ts":1748779198.5,"stream_id":"` + key + `","kol_id":"k","order_id":"o","buyer_id":"b","amount":1}`), schemas.ReasonBadTimestamp},
		{"missing event_id", schemas.KindViewer, []byte(`{"ts":` + strconv.FormatInt(ts, 10) + `,"stream_id":"s","kol_id":"k","action":"join","viewer_id":"v"}`), schemas.ReasonMissingField},
		{"unknown action", schemas.KindViewer, []byte(`{` + h("p-dance") + `,"action":"dance","viewer_id":"v"}`), schemas.ReasonUnknownAction},
		// valid() stores key+"-order-0" with amount 10.00: the same id with another amount
		// conflicts; the exact bytes again, or the same content spelled differently, are resends.
		{"duplicate event_id, different content", schemas.KindOrder, []byte(`{` + h(key+"-order-0") + `,"order_id":"o-` + key + `","buyer_id":"b","amount":"99.00"}`), ingest.ReasonDuplicateEventID},
		{"duplicate event_id, same content (resend)", schemas.KindOrder, validOrder(key, 0, ts), ingest.ReasonDuplicateEvent},
		{"duplicate event_id, same content respelled", schemas.KindOrder, []byte(`{"amount":10, "kol_id":"k", "buyer_id":"b", "order_id":"o-` + key + `", "stream_id":"` + key + `", "ts":` + strconv.FormatInt(ts, 10) + `, "event_id":"` + key + `-order-0", "currency":"CNY", "quantity":1}`), ingest.ReasonDuplicateEvent},
	}
}

// validOrder is the i-th valid order of key: 10.00 × (i+1).
func validOrder(key string, i int, ts int64) []byte {
	ev := schemas.Event{Kind: schemas.KindOrder, Order: schemas.Order{Header: schemas.Header{EventID: fmt.Sprintf("%s-order-%d", key, i), TS: ts, StreamID: key, KOLID: "k"},
		OrderID: "o-" + key, BuyerID: "b", Quantity: 1, Amount: schemas.Money(1000 * (i + 1)), Currency: "CNY"}}
	if i > 0 {
		ev.Order.OrderID = fmt.Sprintf("o-%s-%d", key, i)
	}
	return ev.AppendJSON(nil)
}

// TestPoisonMessages produces every hostile message among valid events, through the real broker
// and consumer: each gets exactly one dead letter with its specific reason and its raw bytes
// (conflicts on the DLQ topic too), lag returns to zero, offsets are committed, and the valid
// events around them are stored exactly once, unchanged.
func TestPoisonMessages(t *testing.T) {
	const partitions = 3
	b := testenv.Broker(t, partitions)
	st := testenv.Store(t)
	now := time.Now()
	ts := now.Add(-time.Minute).UnixMilli()
	cfg := ingest.Config{Brokers: []string{b.Addr()}, GroupID: "poison", Partitions: partitions, BatchRows: 7, FlushInterval: 100 * time.Millisecond,
		Metrics: ingest.NewMetrics(nil)}
	if err := ingest.EnsureTopics(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	type sent struct {
		msg    kafka.Message
		reason schemas.Reason
		name   string
	}
	var all []sent
	var gmv schemas.Money
	validOrders := 0
	for s := 0; s < 4; s++ {
		key := fmt.Sprintf("poison-s%d", s)
		ps := poisons(key, ts)
		// valid, poison, valid, poison, …: every poison has valid neighbours in its partition.
		for i := 0; i <= len(ps); i++ {
			all = append(all, sent{msg: kafka.Message{Topic: "livepulse.order", Key: []byte(key), Value: validOrder(key, i, ts)}})
			gmv += schemas.Money(1000 * (i + 1))
			validOrders++
			if i < len(ps) {
				p := ps[i]
				all = append(all, sent{msg: kafka.Message{Topic: p.kind.DefaultTopic(), Key: []byte(key), Value: p.value}, reason: p.reason, name: p.name})
			}
		}
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, BatchBytes: 2 << 20}
	msgs := make([]kafka.Message, len(all))
	for i, s := range all {
		msgs[i] = s.msg
	}
	// One message at a time: each partition's order is the order above.
	for _, m := range msgs {
		if err := w.WriteMessages(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	t.Logf("produced %d messages in %v", len(all), time.Since(now))
	stop := runConsumer(t, cfg, st)
	total := int64(len(all))
	stored := func() int64 {
		return queryInt(t, st, "SELECT (SELECT count() FROM viewer_events) + (SELECT count() FROM orders) + (SELECT count() FROM refunds) + (SELECT count() FROM dead_letters)")
	}
	waitFor(t, "every message stored", 60*time.Second, func() bool { return stored() >= total })
	stop()
	t.Logf("stored after %v", time.Since(now))

	// Each poison: one dead letter at its position, with its reason and its bytes.
	dead := map[string]string{} // "topic/partition/offset" → reason \t hex(raw)
	out := queryString(t, st, "SELECT kafka_topic, kafka_partition, kafka_offset, reason, hex(raw) FROM dead_letters")
	for _, line := range strings.Split(out, "\n") {
		f := strings.SplitN(line, "\t", 4)
		if len(f) == 4 {
			if _, dup := dead[f[0]+"/"+f[1]+"/"+f[2]]; dup {
				t.Errorf("two dead letters at %s", f[0]+"/"+f[1]+"/"+f[2])
			}
			dead[f[0]+"/"+f[1]+"/"+f[2]] = f[3]
		}
	}
	// Positions are known from the broker: read each partition back in order.
	wantDead, wantDLQ := 0, 0
	seen := map[string]bool{}
	matched := make([]bool, len(all))
	for _, k := range schemas.Kinds {
		for p := 0; p < partitions; p++ {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr()}, Topic: k.DefaultTopic(), Partition: p, MaxBytes: 4 << 20, MaxWait: 50 * time.Millisecond})
			hw := testenv.HighWatermarks(t, b.Addr(), k.DefaultTopic())[p]
			for o := int64(0); o < hw; o++ {
				m, err := r.ReadMessage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for i, s := range all {
					// The earliest message not matched yet: a resend's bytes equal its original's.
					if matched[i] || s.msg.Topic != m.Topic || !bytes.Equal(s.msg.Value, m.Value) || string(s.msg.Key) != string(m.Key) {
						continue
					}
					matched[i] = true
					if s.reason == "" {
						break
					}
					pos := fmt.Sprintf("%s/%d/%d", m.Topic, m.Partition, m.Offset)
					want := string(s.reason) + "\t" + fmt.Sprintf("%X", m.Value)
					if got := dead[pos]; got != want && !seen[pos] {
						t.Errorf("%s (%s): dead letter %.60q, want reason %s and its raw bytes", s.name, pos, got, s.reason)
					}
					seen[pos] = true
					break
				}
			}
			r.Close()
		}
	}
	for _, s := range all {
		if s.reason != "" {
			wantDead++
			if s.reason != ingest.ReasonDuplicateEvent {
				wantDLQ++
			}
		}
	}
	if len(dead) != wantDead || len(seen) != wantDead {
		t.Errorf("%d dead letters (%d matched), want %d", len(dead), len(seen), wantDead)
	}
	// The valid events: each stored once, unchanged.
	if got := queryInt(t, st, "SELECT count() FROM orders"); got != int64(validOrders) {
		t.Errorf("%d orders stored, want %d", got, validOrders)
	}
	if got := queryInt(t, st, "SELECT uniqExact(event_id) FROM orders"); got != int64(validOrders) {
		t.Errorf("%d distinct order event_ids, want %d", got, validOrders)
	}
	if got, err := schemas.ParseMoney(queryString(t, st, "SELECT sum(amount) FROM orders")); err != nil || got != gmv {
		t.Errorf("GMV %s (%v), want %s: a duplicate's amount leaked in", got, err, gmv)
	}
	if got := queryInt(t, st, "SELECT (SELECT count() FROM viewer_events) + (SELECT count() FROM refunds)"); got != 0 {
		t.Errorf("%d viewer/refund rows from poison messages", got)
	}
	// Lag back to zero, everything committed, the DLQ topic got every dead letter but resends.
	for _, k := range schemas.Kinds {
		hw := testenv.HighWatermarks(t, b.Addr(), k.DefaultTopic())
		committed := testenv.Committed(t, b.Addr(), "poison", k.DefaultTopic(), partitions)
		for p, o := range hw {
			if o == 0 {
				continue
			}
			if committed[p] != o {
				t.Errorf("%s/%d: committed %d, want %d", k.DefaultTopic(), p, committed[p], o)
			}
			if lag := testutil.ToFloat64(cfg.Metrics.Lag.WithLabelValues(k.DefaultTopic(), strconv.Itoa(p))); lag != 0 {
				t.Errorf("%s/%d: lag %v after draining", k.DefaultTopic(), p, lag)
			}
		}
	}
	var dlq int64
	for _, o := range testenv.HighWatermarks(t, b.Addr(), "livepulse.dlq") {
		dlq += o
	}
	if dlq != int64(wantDLQ) {
		t.Errorf("DLQ topic holds %d messages, want %d", dlq, wantDLQ)
	}
	if got := testutil.ToFloat64(cfg.Metrics.Duplicates.WithLabelValues("livepulse.order", string(ingest.ReasonDuplicateEvent))); got != 8 {
		t.Errorf("livepulse_duplicate_events_total{reason=duplicate_event} = %v, want 8", got)
	}
	t.Logf("%d messages: %d valid orders stored once, %d dead letters, %d on the DLQ topic", total, validOrders, wantDead, dlq)

	// After a restart the index is seeded from the store: a resend and a conflict of events
	// stored before it are still caught.
	w = &kafka.Writer{Addr: kafka.TCP(b.Addr()), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	if err := w.WriteMessages(context.Background(),
		kafka.Message{Topic: "livepulse.order", Key: []byte("poison-s1"), Value: validOrder("poison-s1", 3, ts)},
		kafka.Message{Topic: "livepulse.order", Key: []byte("poison-s2"), Value: validOrder("poison-s2", 5, ts+1)}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	stop = runConsumer(t, cfg, st)
	waitFor(t, "the resends after a restart", 60*time.Second, func() bool { return stored() >= total+2 })
	stop()
	if got := queryString(t, st, "SELECT reason FROM dead_letters WHERE raw IN ('"+string(validOrder("poison-s1", 3, ts))+"', '"+string(validOrder("poison-s2", 5, ts+1))+"') ORDER BY reason"); got != "duplicate_event\nduplicate_event_id" {
		t.Errorf("after a restart, the resend and the conflict got %q", got)
	}
	// A group that re-reads everything from offset 0 stores nothing again: the duplicates'
	// positions are recognised as stored (dead letters), the originals' too (rows).
	rewound := cfg
	rewound.GroupID = "poison-rewound"
	stop = runConsumer(t, rewound, st)
	waitFor(t, "the rewound group to commit everything", 60*time.Second, func() bool {
		hw := testenv.HighWatermarks(t, b.Addr(), "livepulse.order")
		c := testenv.Committed(t, b.Addr(), "poison-rewound", "livepulse.order", partitions)
		for p, o := range hw {
			if o > 0 && c[p] != o {
				return false
			}
		}
		return true
	})
	stop()
	if got := stored(); got != total+2 {
		t.Errorf("after re-reading everything: %d rows, want %d", got, total+2)
	}
}
