package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/simulate"
	"github.com/livepulse/livepulse/schemas"
)

// produced is what a produce call wrote, as the broker acknowledged it.
type produced struct {
	messages, bytes int64
	ends            map[string][]int64 // per topic and partition: the offset after the last acknowledged message
}

// sampleMsg is one message kept for the decoder comparison.
type sampleMsg struct {
	kind  schemas.Kind
	value []byte
}

// ack is one acknowledged message of the latency phase.
type ack struct {
	topic     string
	partition int32
	offset    int64
	produced  time.Time // the Kafka record timestamp: when the client produced it
}

// producer writes a Generator's messages with franz-go (it reports each message's partition and
// offset, which the latency phase needs). Keys are partitioned with Kafka's murmur2, like
// simulate.Produce, so a stream's three topics share a partition number.
type producer struct {
	cl     *kgo.Client
	mu     sync.Mutex
	out    produced
	err    error
	onAck  func(ack) // optional, called under mu
	topics [schemas.KindRefund + 1]string
}

func newProducer(addr string, partitions int, linger time.Duration) (*producer, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ProducerLinger(linger),
		kgo.ProducerBatchMaxBytes(512<<10), kgo.MaxBufferedRecords(64<<10))
	if err != nil {
		return nil, fmt.Errorf("cannot create the Kafka producer: %w", err)
	}
	p := &producer{cl: cl, out: produced{ends: make(map[string][]int64)}}
	for _, k := range schemas.Kinds {
		p.topics[k] = k.DefaultTopic()
		p.out.ends[k.DefaultTopic()] = make([]int64, partitions)
	}
	return p, nil
}

func (p *producer) send(ctx context.Context, m *simulate.Message) error {
	rec := &kgo.Record{Topic: p.topics[m.Kind], Key: append([]byte(nil), m.Key...), Value: append([]byte(nil), m.Value...)}
	p.cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if err != nil {
			p.err = errors.Join(p.err, err)
			return
		}
		p.out.messages++
		p.out.bytes += int64(len(r.Value))
		ends := p.out.ends[r.Topic]
		ends[r.Partition] = max(ends[r.Partition], r.Offset+1)
		if p.onAck != nil {
			p.onAck(ack{topic: r.Topic, partition: r.Partition, offset: r.Offset, produced: r.Timestamp})
		}
	})
	return nil
}

// finish waits for every acknowledgement and closes the client.
func (p *producer) finish(ctx context.Context) (produced, error) {
	err := p.cl.Flush(ctx)
	p.cl.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err = errors.Join(err, p.err); err != nil {
		return p.out, fmt.Errorf("cannot produce: %w", err)
	}
	return p.out, nil
}

// produceBacklog writes cfg.Events messages of simulated traffic ending about now (so the
// contract's age and skew checks accept them), and keeps about cfg.DecodeSample of them, spread
// over the run, for the decoder comparison.
func produceBacklog(ctx context.Context, cfg Config, addr string) (produced, []sampleMsg, error) {
	if err := ingest.EnsureTopics(ctx, ingest.Config{Brokers: []string{addr}, Partitions: cfg.Partitions}); err != nil {
		return produced{}, nil, err
	}
	now := time.Now()
	start := backlogStart(now, float64(cfg.Events), cfg.Rate)
	g := simulate.NewGenerator(simulate.Config{Streams: cfg.Streams, Rate: cfg.Rate, Start: start, Duration: now.Sub(start), Seed: cfg.Seed})
	p, err := newProducer(addr, cfg.Partitions, 5*time.Millisecond)
	if err != nil {
		return produced{}, nil, err
	}
	every := max(1, (cfg.Events+cfg.DecodeSample-1)/cfg.DecodeSample)
	sample := make([]sampleMsg, 0, min(cfg.Events, cfg.DecodeSample)+1)
	var m simulate.Message
	n := 0
	for ; n < cfg.Events && g.Next(&m); n++ {
		if n%every == 0 {
			sample = append(sample, sampleMsg{kind: m.Kind, value: append([]byte(nil), m.Value...)})
		}
		p.send(ctx, &m)
		if n%4096 == 0 && ctx.Err() != nil {
			break
		}
	}
	out, err := p.finish(ctx)
	if err == nil && n < cfg.Events {
		err = fmt.Errorf("the simulator ran out after %d of %d events: raise the rate", n, cfg.Events)
	}
	return out, sample, err
}

// backlogStart returns the event time at which traffic of the given rate (at curve level 1)
// yields about events by now, with a margin, following the Singles'-Day curve backwards: the
// number of events per second depends on the time of day.
func backlogStart(now time.Time, events, rate float64) time.Time {
	const step = 10 * time.Second
	want := 1.5 * events
	t := now
	for sum := 0.0; sum < want && now.Sub(t) < 6*24*time.Hour; t = t.Add(-step) {
		sum += rate * simulate.CurveLevel(t.In(shanghai())) * step.Seconds()
	}
	return t.Truncate(time.Second)
}

func shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}
