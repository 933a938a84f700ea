package bench

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/broker"
)

// BenchmarkKafkaGoRead: the consumer's Kafka client (segmentio/kafka-go, one Reader per
// partition as pipeline/ingest uses it, all partitions at once) reading a 500,000-event backlog of
// the simulator's mix from the in-process broker, doing nothing with the messages: the Go read
// path's ceiling, to set beside kcat's (`livepulse bench`). events/s.
func BenchmarkKafkaGoRead(b *testing.B) {
	br, err := broker.Start(broker.Config{Partitions: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	ctx := context.Background()
	prod, _, err := produceBacklog(ctx, Config{Events: 500_000}.withDefaults(), br.Addr())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(prod.bytes)
	b.ReportAllocs()
	for b.Loop() {
		var wg sync.WaitGroup
		for topic, ends := range prod.ends {
			for part, end := range ends {
				if end == 0 {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{br.Addr()}, Topic: topic, Partition: part,
						MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond})
					defer r.Close()
					for {
						m, err := r.FetchMessage(ctx)
						if err != nil {
							b.Error(err)
							return
						}
						if m.Offset+1 >= end {
							return
						}
					}
				}()
			}
		}
		wg.Wait()
	}
	b.ReportMetric(float64(prod.messages)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
