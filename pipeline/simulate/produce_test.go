package simulate

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/livepulse/livepulse/schemas"
)

const testPartitions = 4

func newCluster(t testing.TB) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(testPartitions))
	if err != nil {
		t.Fatalf("cannot start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func TestProduceUnpaced(t *testing.T) {
	brokers := newCluster(t)
	cfg := Config{Seed: 7, Start: sale.Add(time.Minute), Duration: 40 * time.Second, Streams: 20, Rate: 300, BadFraction: 0.01}
	g := NewGenerator(cfg)
	var progress bytes.Buffer
	began := time.Now()
	stats, err := Produce(context.Background(), g, ProduceConfig{Brokers: brokers, Unpaced: true, Progress: &progress})
	if err != nil {
		t.Fatalf("Produce: %v", err)
	}
	elapsed := time.Since(began)
	t.Logf("produced %d messages in %v (%.0f msg/s)", stats.Messages, elapsed, float64(stats.Messages)/elapsed.Seconds())
	if stats != g.Stats() {
		t.Errorf("acked stats differ from generated:\nacked     %v\ngenerated %v", stats, g.Stats())
	}
	if stats.Messages < 15_000 || stats.Good[schemas.KindOrder] == 0 {
		t.Errorf("too little traffic for the test: %v", stats)
	}
	if !strings.Contains(progress.String(), "acked") {
		t.Errorf("no progress line: %q", progress.String())
	}

	// Read everything back: counts per kind match, and each stream sits on one partition number
	// in every topic.
	partitionOf := map[string]int{}
	var got Stats
	dec := schemas.NewDecoder(schemas.DecoderConfig{PastHorizon: -1, FutureSkew: 24 * time.Hour})
	var ev schemas.Event
	for _, kind := range schemas.Kinds {
		for part := range testPartitions {
			for _, msg := range readPartition(t, brokers[0], kind.DefaultTopic(), part) {
				key := string(msg.Key)
				if p, ok := partitionOf[key]; ok && p != part {
					t.Fatalf("stream %s on partition %d and %d", key, p, part)
				}
				partitionOf[key] = part
				if err := dec.Decode(kind, msg.Value, time.Now(), &ev); err != nil {
					got.Bad[kind]++
					continue
				}
				got.Good[kind]++
				if sid := ev.Header().StreamID; sid != key {
					t.Fatalf("key %q, stream_id %q", key, sid)
				}
			}
		}
	}
	if got.Good != stats.Good || got.Bad != stats.Bad {
		t.Errorf("read back good %v bad %v, acked good %v bad %v", got.Good, got.Bad, stats.Good, stats.Bad)
	}
}

// readPartition reads a partition from the start to its high watermark.
func readPartition(t *testing.T, broker, topic string, partition int) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := kafka.DialLeader(ctx, "tcp", broker, topic, partition)
	if err != nil {
		t.Fatalf("cannot dial %s/%d: %v", topic, partition, err)
	}
	defer conn.Close()
	last, err := conn.ReadLastOffset()
	if err != nil {
		t.Fatalf("cannot read the last offset of %s/%d: %v", topic, partition, err)
	}
	if _, err := conn.Seek(0, kafka.SeekAbsolute); err != nil {
		t.Fatalf("cannot seek %s/%d: %v", topic, partition, err)
	}
	var msgs []kafka.Message
	for int64(len(msgs)) < last {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := conn.ReadBatch(1, 16<<20)
		for {
			m, err := b.ReadMessage()
			if err != nil {
				break
			}
			msgs = append(msgs, m)
		}
		if err := b.Close(); err != nil && !errors.Is(err, kafka.OffsetOutOfRange) {
			t.Fatalf("cannot read %s/%d at %d of %d: %v", topic, partition, len(msgs), last, err)
		}
	}
	return msgs
}

func TestProduceStopsOnCancel(t *testing.T) {
	brokers := newCluster(t)
	g := NewGenerator(Config{Seed: 3, Start: sale, Duration: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	stats, err := Produce(ctx, g, ProduceConfig{Brokers: brokers, Speed: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Produce after cancel: err %v, want context.Canceled", err)
	}
	// Paced live, 0.3 s of wall time is 0.3 s of event time: hundreds of messages, not an hour.
	if stats.Messages == 0 || stats.Messages > g.Stats().Messages || stats.Messages > 20_000 {
		t.Errorf("acked %d of %d generated", stats.Messages, g.Stats().Messages)
	}
}

func TestProducePaced(t *testing.T) {
	brokers := newCluster(t)
	g := NewGenerator(Config{Seed: 4, Start: sale, Duration: 5 * time.Second, Streams: 10, Rate: 200})
	began := time.Now()
	stats, err := Produce(context.Background(), g, ProduceConfig{Brokers: brokers, Speed: 10})
	if err != nil {
		t.Fatalf("Produce: %v", err)
	}
	// 5 s of event time at 10× is half a second of wall time.
	if elapsed := time.Since(began); elapsed < 400*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("5 s of event time at speed 10 took %v", elapsed)
	}
	if stats != g.Stats() || stats.Messages == 0 {
		t.Errorf("acked %v, generated %v", stats, g.Stats())
	}
}

func TestProduceConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ProduceConfig
	}{
		{"no brokers", ProduceConfig{}},
		{"negative speed", ProduceConfig{Brokers: []string{"localhost:1"}, Speed: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Produce(context.Background(), NewGenerator(Config{Start: sale}), tc.cfg); err == nil {
				t.Error("no error")
			}
		})
	}
}

// BenchmarkProduce measures unpaced produce throughput against the in-process broker
// (go test -run '^$' -bench Produce ./pipeline/simulate/).
func BenchmarkProduce(b *testing.B) {
	brokers := newCluster(b)
	var msgs int64
	var elapsed time.Duration
	for i := range b.N {
		g := NewGenerator(Config{Seed: int64(i), Start: sale, Duration: 30 * time.Second})
		began := time.Now()
		stats, err := Produce(context.Background(), g, ProduceConfig{Brokers: brokers, Unpaced: true})
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(began)
		msgs += stats.Messages
	}
	b.ReportMetric(float64(msgs)/elapsed.Seconds(), "msgs/s")
}
