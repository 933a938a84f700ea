package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/schemas"
)

// ProduceConfig says where and how fast to write a Generator's messages.
type ProduceConfig struct {
	// Brokers are the bootstrap addresses (host:port). Required.
	Brokers []string
	// Topics maps each kind to its topic; kinds left out use Kind.DefaultTopic().
	Topics map[schemas.Kind]string
	// Speed is event time per wall time when paced: 1 replays live (event time tracks the wall
	// clock), 10 runs ten times faster. 0 means the default, 1; negative is an error.
	Speed float64
	// Unpaced writes as fast as possible, ignoring Speed: a backlog for the pipeline to catch up on.
	Unpaced bool
	// Progress receives a progress line: redrawn in place with \r when it is a terminal, else
	// one line every 5 s. Nil is silent.
	Progress io.Writer
	// Logger logs the start, the end and Kafka errors. Nil is silent.
	Logger *slog.Logger
}

const (
	// writeBatch is how many messages go to one WriteMessages call: thousands, so the writer
	// sends few, large produce requests.
	writeBatch = 4096
	// pacedFlush bounds how long a paced message waits for its batch to fill.
	pacedFlush = 50 * time.Millisecond
	// pacedSlack is how early a paced message may go: sleeping for less is not worth it.
	pacedSlack = 2 * time.Millisecond
	// drainTimeout is how long writes in flight at cancellation get to finish.
	drainTimeout = 10 * time.Second
)

// Produce writes g's messages to Kafka until g is exhausted or ctx is cancelled, and returns
// the Stats of the messages the brokers acknowledged (all replicas: RequireAll). Messages are
// keyed by stream_id and partitioned with the Java client's murmur2, so the three topics,
// given equal partition counts, put a stream on the same partition number. On cancellation
// the writes in flight are finished (up to 10 s) and the error is ctx.Err(); g.Stats() may then
// count a few messages that were generated but never sent.
func Produce(ctx context.Context, g *Generator, cfg ProduceConfig) (Stats, error) {
	if len(cfg.Brokers) == 0 {
		return Stats{}, errors.New("cannot produce: no brokers")
	}
	if cfg.Speed < 0 {
		return Stats{}, fmt.Errorf("cannot produce: negative speed %v", cfg.Speed)
	}
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var topics [schemas.KindRefund + 1]string
	for _, k := range schemas.Kinds {
		topics[k] = k.DefaultTopic()
		if t := cfg.Topics[k]; t != "" {
			topics[k] = t
		}
	}
	w := &kafka.Writer{
		Addr:                   kafka.TCP(cfg.Brokers...),
		Balancer:               &kafka.Murmur2Balancer{},
		RequiredAcks:           kafka.RequireAll,
		BatchSize:              10_000,
		BatchBytes:             8 << 20,
		BatchTimeout:           5 * time.Millisecond,
		AllowAutoTopicCreation: true,
		ErrorLogger:            kafka.LoggerFunc(func(msg string, args ...any) { log.Warn("kafka writer: " + fmt.Sprintf(msg, args...)) }),
	}
	log.Info("producing simulated traffic", "brokers", cfg.Brokers, "viewer_topic", topics[schemas.KindViewer],
		"order_topic", topics[schemas.KindOrder], "refund_topic", topics[schemas.KindRefund],
		"speed", cfg.Speed, "unpaced", cfg.Unpaced)

	p := newProducer(ctx, w, topics)
	prog := startProgress(cfg.Progress, p, g.cfg.Location)
	genErr := p.generate(ctx, g, cfg)
	writeErr := p.finish()
	closeErr := w.Close()
	prog.stop()

	stats := p.stats()
	err := writeErr // a failed write is why generating stopped
	if err == nil {
		err = genErr
	}
	if err == nil && closeErr != nil {
		err = fmt.Errorf("cannot close kafka writer: %w", closeErr)
	}
	if err != nil {
		log.Error("producing stopped", "err", err, "acked", stats.Messages)
		return stats, err
	}
	log.Info("produced simulated traffic", "stats", stats.String())
	return stats, nil
}

// batch is one WriteMessages call's worth of messages, with the Stats bookkeeping of each.
// Keys and values are copied into arena, which is reused batch after batch.
type batch struct {
	msgs  []kafka.Message
	infos []Message // Kind, Bad and info only: what Stats.add needs
	arena []byte
}

func (b *batch) reset() {
	clear(b.msgs) // drop references into the old arena
	b.msgs, b.infos, b.arena = b.msgs[:0], b.infos[:0], b.arena[:0]
}

func (b *batch) add(m *Message, topic string) {
	start := len(b.arena)
	b.arena = append(b.arena, m.Key...)
	b.arena = append(b.arena, m.Value...)
	kEnd, vEnd := start+len(m.Key), len(b.arena)
	b.msgs = append(b.msgs, kafka.Message{Topic: topic, Key: b.arena[start:kEnd:kEnd], Value: b.arena[kEnd:vEnd:vEnd]})
	b.infos = append(b.infos, Message{Kind: m.Kind, Bad: m.Bad, TS: m.TS, info: m.info})
}

// producer overlaps generating one batch with writing the previous one. A single writer
// goroutine keeps batches in order, so each partition receives messages in generated order.
type producer struct {
	w      *kafka.Writer
	topics [schemas.KindRefund + 1]string

	free      chan *batch
	full      chan *batch
	written   chan struct{} // closed when the writer goroutine exits
	failed    chan struct{} // closed on the first write error
	drain     context.Context
	stopDrain context.CancelFunc

	mu     sync.Mutex
	acked  Stats
	lastTS int64
	err    error
}

func newProducer(ctx context.Context, w *kafka.Writer, topics [schemas.KindRefund + 1]string) *producer {
	p := &producer{
		w:       w,
		topics:  topics,
		free:    make(chan *batch, 3),
		full:    make(chan *batch, 2),
		written: make(chan struct{}),
		failed:  make(chan struct{}),
	}
	for range cap(p.free) {
		p.free <- &batch{msgs: make([]kafka.Message, 0, writeBatch), infos: make([]Message, 0, writeBatch), arena: make([]byte, 0, writeBatch*320)}
	}
	// Writes in flight when ctx ends still complete, so the acknowledged Stats are exact; a
	// broker that is gone by then gets drainTimeout.
	p.drain, p.stopDrain = context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		select {
		case <-time.After(drainTimeout):
			p.stopDrain()
		case <-p.written:
		}
	})
	go func() {
		defer stop()
		p.write()
	}()
	return p
}

// write is the writer goroutine.
func (p *producer) write() {
	defer close(p.written)
	for b := range p.full {
		err := p.w.WriteMessages(p.drain, b.msgs...)
		var perMessage kafka.WriteErrors // on failure, which messages were written nonetheless
		partial := errors.As(err, &perMessage) && len(perMessage) == len(b.msgs)
		p.mu.Lock()
		for i := range b.infos {
			if err == nil || (partial && perMessage[i] == nil) {
				p.acked.add(&b.infos[i])
				p.lastTS = max(p.lastTS, b.infos[i].TS)
			}
		}
		if err != nil && p.err == nil {
			p.err = fmt.Errorf("cannot write to kafka: %w", err)
			close(p.failed)
		}
		p.mu.Unlock()
		b.reset()
		p.free <- b
	}
}

// generate pulls messages from g into batches, pacing them unless cfg.Unpaced.
func (p *producer) generate(ctx context.Context, g *Generator, cfg ProduceConfig) error {
	var (
		m       Message
		b       *batch
		began   time.Time // wall time of the first message's event time
		firstTS int64
		filled  time.Time // wall time the current batch got its first message
	)
	send := func() error {
		if b == nil || len(b.msgs) == 0 {
			return nil
		}
		select {
		case p.full <- b:
			b = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-p.failed:
			return nil // the writer's error is reported by finish
		}
	}
	for n := 0; g.Next(&m); n++ {
		if !cfg.Unpaced {
			if began.IsZero() {
				began, firstTS = time.Now(), m.TS
			}
			due := began.Add(time.Duration(float64(m.TS-firstTS) * float64(time.Millisecond) / cfg.Speed))
			if wait := time.Until(due); wait > pacedSlack {
				if err := send(); err != nil {
					return err
				}
				if err := sleep(ctx, wait); err != nil {
					return err
				}
			}
		} else if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if b == nil {
			select {
			case b = <-p.free:
				filled = time.Now()
			case <-ctx.Done():
				return ctx.Err()
			case <-p.failed:
				return nil
			}
		}
		b.add(&m, p.topics[m.Kind])
		if len(b.msgs) == writeBatch || (!cfg.Unpaced && time.Since(filled) > pacedFlush) {
			if err := send(); err != nil {
				return err
			}
		}
	}
	return send()
}

// finish waits for the writes in flight and returns the first write error.
func (p *producer) finish() error {
	close(p.full)
	<-p.written
	p.stopDrain()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// snapshot returns the acknowledged Stats and the latest acknowledged event time.
func (p *producer) snapshot() (Stats, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked, p.lastTS
}

func (p *producer) stats() Stats {
	s, _ := p.snapshot()
	return s
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
