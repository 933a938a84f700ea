package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/schemas"
)

// Delivery is the oracle's finding for one topic: the messages the broker holds (from its
// offsets) and what the store holds of them.
type Delivery struct {
	Topic    string
	Expected int64 // messages in the broker: the sum of the partitions' end offsets
	Rows     int64 // rows carrying a position of the topic: event rows plus dead letters
	Distinct int64 // distinct (partition, offset) among them
	Beyond   int64 // rows whose offset the broker never had
}

// Exact reports whether every message is stored exactly once.
func (d Delivery) Exact() bool {
	return d.Rows == d.Expected && d.Distinct == d.Expected && d.Beyond == 0
}

func (d Delivery) String() string {
	return fmt.Sprintf("%s: broker holds %d messages; store has %d rows at %d distinct positions (%d beyond the broker's offsets)",
		d.Topic, d.Expected, d.Rows, d.Distinct, d.Beyond)
}

// ExactlyOnce is the delivery oracle: for each event topic, the expected messages come from the
// broker's offsets, the found ones from ClickHouse (the event table and dead_letters); every
// message must be there once — a plain count() equals the distinct positions equals the broker's
// count. It works on both backends (plain SQL that ClickHouse 18.16 also runs).
func ExactlyOnce(t testing.TB, brokerAddr string, b store.Backend) []Delivery {
	t.Helper()
	var out []Delivery
	for _, k := range schemas.Kinds {
		topic := k.DefaultTopic()
		hw := HighWatermarks(t, brokerAddr, topic)
		d := Delivery{Topic: topic}
		var beyond []string
		for p, o := range hw {
			d.Expected += o
			beyond = append(beyond, fmt.Sprintf("(kafka_partition = %d AND kafka_offset >= %d)", p, o))
		}
		if len(beyond) == 0 {
			beyond = []string{"0"}
		}
		q := fmt.Sprintf(`SELECT count(), uniqExact(kafka_partition, kafka_offset), countIf(%s) FROM (
			SELECT kafka_partition, kafka_offset FROM %s WHERE kafka_topic = '%s'
			UNION ALL SELECT kafka_partition, kafka_offset FROM dead_letters WHERE kafka_topic = '%s')`,
			strings.Join(beyond, " OR "), schemas.TableFor(k).Name, topic, topic)
		res, err := b.Query(context.Background(), q, "TabSeparated")
		if err != nil {
			t.Fatalf("oracle: %v", err)
		}
		if _, err := fmt.Sscanf(string(res), "%d\t%d\t%d", &d.Rows, &d.Distinct, &d.Beyond); err != nil {
			t.Fatalf("oracle: cannot parse %q: %v", res, err)
		}
		out = append(out, d)
	}
	return out
}

// CheckExactlyOnce fails the test unless ExactlyOnce finds every topic exact.
func CheckExactlyOnce(t testing.TB, brokerAddr string, b store.Backend) {
	t.Helper()
	for _, d := range ExactlyOnce(t, brokerAddr, b) {
		if !d.Exact() {
			t.Errorf("not exactly once: %s", d)
		} else {
			t.Logf("exactly once: %s", d)
		}
	}
}
