package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/schemas"
)

// Consumer runs the pipeline for the partitions the consumer group assigns to this instance.
type Consumer struct {
	cfg     Config
	st      *store.Store
	writers map[string]*tableWriter
	dlq     *kafka.Writer

	runCtx   context.Context // ends on a hard stop: in-flight work is abandoned, uncommitted
	stop     chan struct{}   // closed by Stop: flush, commit, leave
	stopOnce sync.Once
	joined   atomic.Bool
}

// New returns a consumer writing to st.
func New(cfg Config, st *store.Store) (*Consumer, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("ingest: no Kafka brokers configured")
	}
	cfg = cfg.withDefaults()
	c := &Consumer{cfg: cfg, st: st, writers: make(map[string]*tableWriter), stop: make(chan struct{})}
	for _, t := range schemas.Tables {
		c.writers[t.Name] = newTableWriter(t, st, cfg)
	}
	c.dlq = &kafka.Writer{
		Addr:         kafka.TCP(cfg.Brokers...),
		Topic:        cfg.DLQTopic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		Transport:    transport(cfg.Dialer),
	}
	return c, nil
}

// Config returns the effective configuration, defaults filled in.
func (c *Consumer) Config() Config { return c.cfg }

// Joined reports whether the consumer has joined its group (for /readyz).
func (c *Consumer) Joined() bool { return c.joined.Load() }

// Stop asks Run to flush open batches, commit what is stored, leave the group and return.
func (c *Consumer) Stop() { c.stopOnce.Do(func() { close(c.stop) }) }

// Run creates missing topics, joins the consumer group and consumes until Stop (graceful) or ctx
// ends (abrupt: nothing uncommitted is lost, it is re-read by the next owner).
func (c *Consumer) Run(ctx context.Context) error {
	c.runCtx = ctx
	if err := EnsureTopics(ctx, c.cfg); err != nil {
		return err
	}
	var writersDone sync.WaitGroup
	for _, w := range c.writers {
		writersDone.Add(1)
		go func() { defer writersDone.Done(); w.run(ctx) }()
	}
	defer func() {
		for _, w := range c.writers {
			close(w.in)
		}
		writersDone.Wait()
		c.dlq.Close()
	}()

	topics := make([]string, 0, len(schemas.Kinds))
	kindOf := make(map[string]schemas.Kind)
	for _, k := range schemas.Kinds {
		topics = append(topics, c.cfg.Topics[k])
		kindOf[c.cfg.Topics[k]] = k
	}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:      c.cfg.GroupID,
		Brokers: c.cfg.Brokers,
		Dialer:  c.cfg.Dialer,
		Topics:  topics,
		// Partition p of every topic goes to the same member (the topics have the same partition
		// count, checked by EnsureTopics): a stream's viewers, orders and refunds meet in one
		// process. Range only while older members remain (see CoLocatingBalancer).
		GroupBalancers: []kafka.GroupBalancer{CoLocatingBalancer{}, kafka.RangeGroupBalancer{}},
		StartOffset:    kafka.FirstOffset,
		// Leave and rejoin promptly when an instance comes or goes.
		SessionTimeout:   10 * time.Second,
		RebalanceTimeout: 30 * time.Second,
		JoinGroupBackoff: time.Second,
	})
	if err != nil {
		return fmt.Errorf("cannot join consumer group %s: %w", c.cfg.GroupID, err)
	}
	defer group.Close()
	// An abrupt stop (ctx ends) must end the current generation too: its partitions only watch
	// the generation, and would otherwise keep it alive while this member still heartbeats.
	defer context.AfterFunc(ctx, func() { group.Close() })()

	nextCtx, cancelNext := context.WithCancel(ctx)
	defer cancelNext()
	go func() {
		select {
		case <-c.stop:
			cancelNext()
		case <-nextCtx.Done():
		}
	}()
	for {
		gen, err := group.Next(nextCtx)
		if err != nil {
			if nextCtx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			c.cfg.Logger.Warn("consumer group error, rejoining", "err", err)
			continue
		}
		c.joined.Store(true)
		if err := c.runGeneration(gen, kindOf); err != nil {
			return err
		}
		select {
		case <-c.stop:
			return nil
		default:
		}
	}
}

// runGeneration consumes the partitions of one generation until it ends, and returns a fatal
// error (such as ErrForeignData) if a partition met one.
func (c *Consumer) runGeneration(gen *kafka.Generation, kindOf map[string]schemas.Kind) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var fatal error
	n := 0
	commits := newGroupCommitter(gen)
	if proc := c.cfg.Processor; proc != nil {
		// Announce every assigned partition before any starts reading: one that starts late
		// must not find event time already past its backlog.
		for topic, assigned := range gen.Assignments {
			for _, a := range assigned {
				proc.Reading(topic, int32(a.ID), true)
			}
		}
	}
	for topic, assigned := range gen.Assignments {
		for _, a := range assigned {
			n++
			wg.Add(1)
			gen.Start(func(ctx context.Context) {
				defer wg.Done()
				if err := c.consumePartition(ctx, commits, kindOf[topic], a); err != nil {
					c.cfg.Logger.Error("partition consumer stopped", "topic", topic, "partition", a.ID, "err", err)
					if errors.Is(err, ErrForeignData) {
						mu.Lock()
						fatal = err
						mu.Unlock()
					}
				}
			})
		}
	}
	c.cfg.Metrics.Assigned.Set(float64(n))
	c.cfg.Logger.Info("partitions assigned", "generation", gen.ID, "partitions", n)
	wg.Wait()
	return fatal
}

// submit hands a chunk to its table's writer; if the consumer is stopped hard meanwhile, the chunk
// fails instead of waiting forever.
func (c *Consumer) submit(t *schemas.Table, ch *chunk) {
	if err := c.writers[t.Name].submit(c.runCtx, ch); err != nil {
		ch.done <- err
	}
}
