package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/flags"
	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/rollup"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/window"
	"github.com/livepulse/livepulse/schemas"
)

// groupID is the bench's consumer group.
const groupID = "livepulse-bench"

// pipeline is `livepulse run`'s pipeline without HTTP: consumer, rollup with the detectors and
// the flags publisher, on `livepulse run`'s defaults.
type pipeline struct {
	addr     string
	st       *store.Store
	reg      *prometheus.Registry
	consumer *ingest.Consumer
	proc     *rollup.Processor
	pub      *recorder
	runDone  chan error
	procDone chan struct{}
	cancel   context.CancelFunc
	stopped  bool
}

func startPipeline(ctx context.Context, cfg Config, addr string, st *store.Store) (*pipeline, error) {
	reg := prometheus.NewRegistry()
	det := detectors.DefaultConfig()
	p := &pipeline{addr: addr, st: st, reg: reg, runDone: make(chan error, 1), procDone: make(chan struct{})}
	p.pub = &recorder{Publisher: flags.NewPublisher(flags.Config{Logger: cfg.Logger}, st)}
	p.proc = rollup.New(rollup.Config{
		Window:    window.Config{MaxOutOfOrder: 5 * time.Second, IdleTimeout: 10 * time.Second},
		Metrics:   metrics.Config{AllowedLateness: time.Minute, SessionTimeout: time.Minute},
		Detectors: &det,
		Flags:     p.pub,
		Logger:    cfg.Logger,
	}, st)
	c, err := ingest.New(ingest.Config{
		Brokers: []string{addr}, GroupID: groupID, Partitions: cfg.Partitions,
		Processor: p.proc, Metrics: ingest.NewMetrics(reg), Logger: cfg.Logger,
	}, st)
	if err != nil {
		return nil, err
	}
	p.consumer = c
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	go func() { p.runDone <- c.Run(runCtx) }()
	go func() { p.proc.Run(runCtx); close(p.procDone) }()
	return p, nil
}

// stop flushes, commits and stops the consumer, then the rollup stage and the publisher.
func (p *pipeline) stop() error {
	if p.stopped {
		return nil
	}
	p.stopped = true
	p.consumer.Stop()
	var err error
	select {
	case err = <-p.runDone:
	case <-time.After(time.Minute):
		p.cancel()
		err = errors.Join(errors.New("the consumer did not stop within a minute"), <-p.runDone)
	}
	p.cancel()
	<-p.procDone
	return errors.Join(err, p.pub.Close())
}

// drainResult is the drain phase's measurement.
type drainResult struct {
	seconds float64
	cpu     float64 // user + system seconds of this process
	inserts map[string]insertStats
}

type insertStats struct {
	inserts int64
	rows    float64
	seconds float64 // summed INSERT wall time
}

// drain measures the pipeline from now until every partition's committed offset reaches ends.
func (p *pipeline) drain(ctx context.Context, ends map[string][]int64) (drainResult, error) {
	cpu0, began := cpuSeconds(), time.Now()
	client := &kafka.Client{Addr: kafka.TCP(p.addr), Timeout: 10 * time.Second}
	for {
		done, err := committed(ctx, client, ends)
		if err != nil {
			return drainResult{}, err
		}
		if done {
			break
		}
		select {
		case err := <-p.runDone:
			p.runDone <- err
			return drainResult{}, fmt.Errorf("the consumer stopped during the drain: %v", err)
		case <-ctx.Done():
			return drainResult{}, fmt.Errorf("drain not finished: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	d := drainResult{seconds: time.Since(began).Seconds(), cpu: cpuSeconds() - cpu0}
	var err error
	d.inserts, err = p.insertStats()
	return d, err
}

// committed reports whether the group's committed offsets reached ends on every partition.
func committed(ctx context.Context, client *kafka.Client, ends map[string][]int64) (bool, error) {
	req := &kafka.OffsetFetchRequest{GroupID: groupID, Topics: map[string][]int{}}
	for topic, e := range ends {
		for part := range e {
			req.Topics[topic] = append(req.Topics[topic], part)
		}
	}
	res, err := client.OffsetFetch(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return false, err
		}
		return false, nil // the group may not exist yet
	}
	for topic, e := range ends {
		got := res.Topics[topic]
		for part, end := range e {
			if end == 0 {
				continue
			}
			i := slices.IndexFunc(got, func(o kafka.OffsetFetchPartition) bool { return o.Partition == part })
			if i < 0 || got[i].Error != nil || got[i].CommittedOffset < end {
				return false, nil
			}
		}
	}
	return true, nil
}

// insertStats reads the consumer's INSERT count, rows and time per table from its metrics.
func (p *pipeline) insertStats() (map[string]insertStats, error) {
	mfs, err := p.reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("cannot read the pipeline's metrics: %w", err)
	}
	out := make(map[string]insertStats)
	for _, mf := range mfs {
		name := mf.GetName()
		if name != "livepulse_insert_batch_rows" && name != "livepulse_insert_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			table := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "table" {
					table = l.GetValue()
				}
			}
			h, s := m.GetHistogram(), out[table]
			if name == "livepulse_insert_batch_rows" {
				s.inserts, s.rows = int64(h.GetSampleCount()), h.GetSampleSum()
			} else {
				s.seconds = h.GetSampleSum()
			}
			out[table] = s
		}
	}
	return out, nil
}

// verifyStored checks that the event and dead-letter tables hold exactly one row per produced
// message.
func (p *pipeline) verifyStored(ctx context.Context, messages int64) error {
	var q []string
	for _, t := range []*schemas.Table{schemas.ViewerEvents, schemas.Orders, schemas.Refunds, schemas.DeadLetters} {
		q = append(q, "(SELECT count() FROM "+t.Name+")")
	}
	raw, err := p.st.Backend().Query(ctx, "SELECT "+strings.Join(q, " + "), "TabSeparated")
	if err != nil {
		return fmt.Errorf("cannot count stored rows: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		return fmt.Errorf("cannot count stored rows: %w", err)
	}
	if n != messages {
		return fmt.Errorf("%d rows stored for %d messages produced", n, messages)
	}
	return nil
}

// recorder is the flags publisher that notes when each flag emission was published (wall time).
type recorder struct {
	*flags.Publisher
	mu        sync.Mutex
	published []publishedFlag
}

type publishedFlag struct {
	kind       string
	detectedAt int64 // event time of the evaluation (window end)
	at         time.Time
}

func (r *recorder) Publish(ctx context.Context, fs []detectors.Flag, replayID string) error {
	if err := r.Publisher.Publish(ctx, fs, replayID); err != nil {
		return err
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range fs {
		r.published = append(r.published, publishedFlag{kind: f.Kind, detectedAt: f.DetectedAt, at: now})
	}
	return nil
}

func (r *recorder) since(i int) []publishedFlag {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.published[min(i, len(r.published)):])
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.published)
}
