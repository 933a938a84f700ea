package ingest_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// TestDedupeReplayAfterCrash re-reads a partition from offset 0 over stores left in the states a
// crash can leave (a batch's rows stored but not its dead letters, or the reverse; an index
// whose bounds evicted an original), and checks that every position is stored exactly once and
// every duplicate classified as it was.
func TestDedupeReplayAfterCrash(t *testing.T) {
	ts := time.Now().Add(-time.Minute).UnixMilli()
	ev := func(id string, cents int64) schemas.Order {
		return schemas.Order{Header: schemas.Header{EventID: id, TS: ts, StreamID: "s", KOLID: "k"}, OrderID: "o-" + id, BuyerID: "b", Quantity: 1, Amount: schemas.Money(cents), Currency: "CNY"}
	}
	value := func(o schemas.Order) []byte {
		e := schemas.Event{Kind: schemas.KindOrder, Order: o}
		return e.AppendJSON(nil)
	}
	type stored struct {
		offset int64
		dead   schemas.Reason // "" = an orders row
	}
	f := func(name string, maxEvents int, msgs []schemas.Order, before []stored, want map[int64]schemas.Reason) {
		t.Run(name, func(t *testing.T) {
			b := testenv.Broker(t, 1)
			st := testenv.Store(t)
			cfg := ingest.Config{Brokers: []string{b.Addr()}, GroupID: "replay", Partitions: 1, BatchRows: 100, FlushInterval: 100 * time.Millisecond, DedupeMaxEvents: maxEvents}
			if err := ingest.EnsureTopics(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
			var out []kafka.Message
			for _, m := range msgs {
				out = append(out, kafka.Message{Topic: "livepulse.order", Key: []byte("s"), Value: value(m)})
			}
			if err := w.WriteMessages(context.Background(), out...); err != nil {
				t.Fatal(err)
			}
			w.Close()
			// The crash state: what the previous owner had stored.
			for _, s := range before {
				src := store.Source{Topic: "livepulse.order", Partition: 0, Offset: s.offset}
				var err error
				if s.dead == "" {
					err = st.Insert(context.Background(), time.Now(), store.OrderRows{{Src: src, Ev: msgs[s.offset]}})
				} else {
					err = st.Insert(context.Background(), time.Now(), store.DeadLetters{{Src: src, Reason: s.dead, Field: "event_id", Raw: value(msgs[s.offset])}})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			stop := runConsumer(t, cfg, st)
			waitFor(t, "the partition committed", 60*time.Second, func() bool {
				return testenv.Committed(t, b.Addr(), "replay", "livepulse.order", 1)[0] == int64(len(msgs))
			})
			stop()
			testenv.CheckExactlyOnce(t, b.Addr(), st.Backend())
			for o, reason := range want {
				got := queryString(t, st, "SELECT reason FROM dead_letters WHERE kafka_offset = "+strconv.FormatInt(o, 10))
				if reason == "" {
					got = queryString(t, st, "SELECT if(count() = 1, '', 'missing') FROM orders WHERE kafka_offset = "+strconv.FormatInt(o, 10))
				}
				if got != string(reason) {
					t.Errorf("offset %d: %q, want %q", o, got, reason)
				}
			}
		})
	}
	e1, e1again, e1changed, e2, e3 := ev("e1", 100), ev("e1", 100), ev("e1", 200), ev("e2", 100), ev("e3", 100)
	// The batch's rows stored, its dead letter not: the resend at 1 must be written now.
	f("rows stored, dead letters not", 0, []schemas.Order{e1, e1again, e2, e1changed},
		[]stored{{0, ""}, {2, ""}},
		map[int64]schemas.Reason{0: "", 1: ingest.ReasonDuplicateEvent, 2: "", 3: ingest.ReasonDuplicateEventID})
	// Dead letters stored beyond the rows: the resend at 1 must not be written again.
	f("dead letters stored beyond the rows", 0, []schemas.Order{e1, e1again, e3},
		[]stored{{0, ""}, {1, ingest.ReasonDuplicateEvent}},
		map[int64]schemas.Reason{0: "", 1: ingest.ReasonDuplicateEvent, 2: ""})
	// An index of one event: the first run evicted e1 before its resend, which was stored as an
	// event; the seeded index now holds that resend, and re-reading e1 at 0 must not make it a
	// dead letter too.
	f("an original evicted by the bounds", 1, []schemas.Order{e1, e2, e1again},
		[]stored{{0, ""}, {1, ""}, {2, ""}},
		map[int64]schemas.Reason{0: "", 1: "", 2: ""})
}
