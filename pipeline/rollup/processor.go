// Package rollup is the event-time stage of the pipeline: it keeps watermarks, feeds each
// partition's events into a metrics.Shard, and writes the per-stream minute rows to
// stream_metrics_1m as the watermark closes them. A new owner of a partition rebuilds the open
// minutes from the store before counting anything new.
package rollup

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/window"
	"github.com/livepulse/livepulse/schemas"
)

// Config configures a Processor. The zero value works.
type Config struct {
	Window  window.Config
	Metrics metrics.Config
	// EmitInterval is how often closed minutes are written. Default 500 ms.
	EmitInterval time.Duration
	// Logger; nil means silent.
	Logger *slog.Logger
	// Now is the wall clock (idle partitions, emission times). Default time.Now.
	Now func() time.Time
}

// Processor implements ingest.Processor.
type Processor struct {
	cfg      Config
	st       *store.Store
	wm       *window.Watermarks
	mu       sync.Mutex
	shards   map[int32]*shardState
	version  uint64 // last emission version; increases across restarts because it starts from the clock
	lastEmit time.Time
}

// shardState is the metrics of one partition number: p of every event topic.
type shardState struct {
	mu       sync.Mutex
	shard    *metrics.Shard
	open     map[string]bool              // topics currently assigned
	emitFrom int64                        // minutes before this are final already: rebuilt for context, not written again
	pending  map[rowKey]metrics.MinuteRow // rows whose write failed, retried with the next emission
	progress int64                        // first non-final minute last recorded in rollup_progress
	ready    chan struct{}                // closed once rebuilt
	err      error
}

// New returns a processor writing to st.
func New(cfg Config, st *store.Store) *Processor {
	if cfg.EmitInterval <= 0 {
		cfg.EmitInterval = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Metrics = cfg.Metrics.WithDefaults()
	return &Processor{cfg: cfg, st: st, wm: window.New(cfg.Window), shards: make(map[int32]*shardState)}
}

// Open creates the partition's shard on the first of its topics to arrive, rebuilding it from
// the store; the other topics wait for that.
func (p *Processor) Open(ctx context.Context, topic string, partition int32) error {
	p.mu.Lock()
	s, ok := p.shards[partition]
	if !ok {
		s = &shardState{open: make(map[string]bool), ready: make(chan struct{}), pending: make(map[rowKey]metrics.MinuteRow)}
		p.shards[partition] = s
	}
	s.open[topic] = true
	p.mu.Unlock()
	if !ok {
		s.shard, s.emitFrom, s.err = p.rebuild(ctx, partition)
		close(s.ready)
	}
	select {
	case <-s.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.err
}

// Close forgets the shard once none of its topics is assigned here: the next owner rebuilds it.
func (p *Processor) Close(topic string, partition int32) {
	p.wm.Remove(window.SourceKey{Topic: topic, Partition: partition})
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.shards[partition]; ok {
		delete(s.open, topic)
		if len(s.open) == 0 {
			delete(p.shards, partition)
		}
	}
}

func (p *Processor) Reading(topic string, partition int32, backlog bool) {
	p.wm.Register(window.SourceKey{Topic: topic, Partition: partition}, p.cfg.Now(), backlog)
}

func (p *Processor) Observe(topic string, partition int32, ts int64, backlog bool) {
	p.wm.ObserveBacklog(window.SourceKey{Topic: topic, Partition: partition}, ts, p.cfg.Now(), backlog)
}

func (p *Processor) Process(src store.Source, ev *schemas.Event) bool {
	p.mu.Lock()
	s := p.shards[src.Partition]
	p.mu.Unlock()
	if s == nil || s.shard == nil {
		return false // not opened (cannot happen through ingest)
	}
	w := p.wm.Watermark(p.cfg.Now())
	s.mu.Lock()
	late := s.shard.Add(ev, w)
	s.mu.Unlock()
	return late
}

// Watermark returns the combined event-time watermark (Unix ms).
func (p *Processor) Watermark() int64 { return p.wm.Watermark(p.cfg.Now()) }

// Run writes closed minutes every EmitInterval until ctx ends.
func (p *Processor) Run(ctx context.Context) {
	t := time.NewTicker(p.cfg.EmitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := p.Emit(ctx); err != nil {
				p.cfg.Logger.Warn("cannot write minute rollups, will retry", "err", err)
			}
		}
	}
}

// Emit advances every shard to the current watermark and writes the rows that closed or changed,
// then records the watermark as each partition's progress.
func (p *Processor) Emit(ctx context.Context) error {
	w := p.wm.Watermark(p.cfg.Now())
	if w == math.MinInt64 {
		return nil
	}
	p.mu.Lock()
	parts := make(map[int32]*shardState, len(p.shards))
	for k, s := range p.shards {
		parts[k] = s
	}
	p.mu.Unlock()
	for part, s := range parts {
		select {
		case <-s.ready:
		default:
			continue
		}
		if s.err != nil {
			continue
		}
		if err := p.emitShard(ctx, part, s, w); err != nil {
			return err
		}
	}
	return nil
}

type rowKey struct {
	stream string
	minute int64
}

func (p *Processor) emitShard(ctx context.Context, part int32, s *shardState, w int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A row emitted again supersedes its pending copy: one row per key and write, so the
	// version alone decides which copy ReplacingMergeTree keeps.
	for _, r := range s.shard.Advance(ctx, w) {
		if r.Minute >= s.emitFrom {
			s.pending[rowKey{r.StreamID, r.Minute}] = r
		}
	}
	if len(s.pending) > 0 {
		now := p.cfg.Now()
		v := p.nextVersion(now)
		out := make(metrics.MinuteRows, 0, len(s.pending))
		for _, r := range s.pending {
			r.Partition, r.Version, r.EmittedAt = part, v, now.UnixMilli()
			out = append(out, r)
		}
		slices.SortFunc(out, func(a, b metrics.MinuteRow) int {
			if c := cmp.Compare(a.StreamID, b.StreamID); c != 0 {
				return c
			}
			return cmp.Compare(a.Minute, b.Minute)
		})
		if err := p.st.Insert(ctx, now, out); err != nil {
			return fmt.Errorf("cannot write %d minute rows of partition %d: %w", len(out), part, err)
		}
		clear(s.pending)
	}
	// Record progress when another minute became final (not on every tick: each record is a part).
	final := firstOpenMinute(w, p.cfg.Metrics.AllowedLateness)
	if final <= s.progress {
		return nil
	}
	err := p.st.Backend().Exec(ctx, fmt.Sprintf(
		"INSERT INTO rollup_progress (kafka_partition, watermark, version) VALUES (%d, fromUnixTimestamp64Milli(%d, 'UTC'), %d)",
		part, w, p.nextVersion(p.cfg.Now())))
	if err != nil {
		return fmt.Errorf("cannot record rollup progress of partition %d: %w", part, err)
	}
	s.progress = final
	return nil
}

// firstOpenMinute returns the start of the earliest minute that watermark w does not make final.
func firstOpenMinute(w int64, lateness time.Duration) int64 {
	t := w - lateness.Milliseconds()
	return t - mod(t, 60_000)
}

func mod(a, b int64) int64 { return (a%b + b) % b }

// nextVersion returns a version above every earlier one, in this process and (being clock-based)
// across restarts.
func (p *Processor) nextVersion(now time.Time) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.version = max(p.version+1, uint64(now.UnixMicro()))
	return p.version
}
