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
	"strings"
	"sync"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/window"
	"github.com/livepulse/livepulse/schemas"
)

// Config configures a Processor. The zero value works.
type Config struct {
	Window  window.Config
	Metrics metrics.Config
	// EmitInterval is how often the detectors are advanced and closed minutes written: a flag
	// is published within it of the watermark passing its evaluation time. Default 500 ms.
	EmitInterval time.Duration
	// LiveEvery is how often provisional rows of minutes still in progress are written, so
	// readers of stream_metrics_1m see the current minute. Default 1 s.
	LiveEvery time.Duration
	// Detectors, if set, run on every partition's counted events and raise flags.
	Detectors *detectors.Config
	// Flags receives the detectors' flag emissions; required with Detectors.
	Flags FlagPublisher
	// Logger; nil means silent.
	Logger *slog.Logger
	// Now is the wall clock (idle partitions, emission times) of the processor's own calls;
	// Observe and Process get the consumer's reading. Default time.Now.
	Now func() time.Time
}

// FlagPublisher delivers flags (pipeline/flags.Publisher).
type FlagPublisher interface {
	Publish(ctx context.Context, fs []detectors.Flag, replayID string) error
}

// Processor implements ingest.Processor.
type Processor struct {
	cfg      Config
	st       *store.Store
	wm       *window.Watermarks
	mu       sync.Mutex
	emitMu   sync.Mutex // one Emit at a time: the ticker's and the final one at shutdown
	shards   map[int32]*shardState
	version  uint64 // last emission version; increases across restarts because it starts from the clock
	lastLive time.Time
}

// shardState is the metrics of one partition number: p of every event topic.
type shardState struct {
	mu          sync.Mutex
	shard       *metrics.Shard
	det         *detectors.Engine            // nil when detection is off
	flags       []detectors.Flag             // raised, not yet published (kept when publishing fails)
	open        map[string]bool              // topics currently assigned
	emitFrom    int64                        // minutes before this are final already: rebuilt for context, not written again
	pending     map[rowKey]metrics.MinuteRow // rows to write (kept when a write fails, retried next time)
	provisional map[rowKey]metrics.MinuteRow // last provisional row written per open minute
	progress    int64                        // first non-final minute last recorded in rollup_progress
	ready       chan struct{}                // closed once rebuilt
	err         error
}

// New returns a processor writing to st.
func New(cfg Config, st *store.Store) *Processor {
	if cfg.EmitInterval <= 0 {
		cfg.EmitInterval = 500 * time.Millisecond
	}
	if cfg.LiveEvery <= 0 {
		cfg.LiveEvery = time.Second
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
		s = &shardState{open: make(map[string]bool), ready: make(chan struct{}), pending: make(map[rowKey]metrics.MinuteRow), provisional: make(map[rowKey]metrics.MinuteRow)}
		p.shards[partition] = s
	}
	s.open[topic] = true
	p.mu.Unlock()
	if !ok {
		if p.cfg.Detectors != nil {
			s.det = detectors.NewEngine(*p.cfg.Detectors)
		}
		s.shard, s.emitFrom, s.err = p.rebuild(ctx, partition, s.det)
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

// Observe and Process take the consumer's clock reading (ingest.Config.Now) for the message;
// Config.Now serves the processor's own calls.
func (p *Processor) Observe(topic string, partition int32, ts int64, backlog bool, now time.Time) {
	p.wm.ObserveBacklog(window.SourceKey{Topic: topic, Partition: partition}, ts, now, backlog)
}

func (p *Processor) Process(src store.Source, ev *schemas.Event, now time.Time) bool {
	p.mu.Lock()
	s := p.shards[src.Partition]
	p.mu.Unlock()
	if s == nil || s.shard == nil {
		return false // not opened (cannot happen through ingest)
	}
	w := p.wm.Watermark(now)
	s.mu.Lock()
	late := s.shard.Add(ev, w)
	if !late && s.det != nil {
		s.det.Observe(ev)
	}
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

// Emit advances every shard to the current watermark and writes, in one INSERT, the rows that
// closed or changed plus (every LiveEvery) provisional rows of the minutes still in progress; then
// it records each partition's progress.
func (p *Processor) Emit(ctx context.Context) error {
	p.emitMu.Lock()
	defer p.emitMu.Unlock()
	w := p.wm.Watermark(p.cfg.Now())
	if w == math.MinInt64 {
		return nil
	}
	now := p.cfg.Now()
	live := now.Sub(p.lastLive) >= p.cfg.LiveEvery
	p.mu.Lock()
	parts := make(map[int32]*shardState, len(p.shards))
	for k, s := range p.shards {
		parts[k] = s
	}
	p.mu.Unlock()
	var ready []int32
	for part, s := range parts {
		select {
		case <-s.ready:
		default:
			continue
		}
		if s.err != nil {
			continue
		}
		s.mu.Lock()
		// A row emitted again supersedes its pending copy: one row per key and write, so the
		// version alone decides which copy ReplacingMergeTree keeps.
		for _, r := range s.shard.Advance(ctx, w) {
			if r.Minute >= s.emitFrom {
				r.Partition = part
				s.pending[rowKey{r.StreamID, r.Minute}] = r
			}
		}
		if live {
			for _, r := range s.shard.LiveRows() {
				k := rowKey{r.StreamID, r.Minute}
				r.Partition = part
				if _, ok := s.pending[k]; ok || r.Minute+60_000 <= w || s.provisional[k] == r {
					continue // closed minutes come from Advance; unchanged ones need no write
				}
				s.pending[k] = r
				s.provisional[k] = r
			}
		}
		if s.det != nil {
			// Before evaluating: the KOL and brand histories its new streams need, or no
			// evaluation this time (they would differ from a replay's).
			if err := fillHistory(ctx, p.st, s.det); err != nil {
				s.mu.Unlock()
				return fmt.Errorf("cannot give the detectors of partition %d their history: %w", part, err)
			}
			s.flags = append(s.flags, s.det.Advance(w)...)
		}
		s.mu.Unlock()
		ready = append(ready, part)
	}
	if live {
		p.lastLive = now
	}
	// Flags first: they wait on nothing the minute rows hold, and a flag's latency is what
	// trust-and-safety feels (a failed minute INSERT leaves its rows pending for the next tick).
	if err := p.publishFlags(ctx, parts, ready); err != nil {
		return err
	}
	var out metrics.MinuteRows
	for _, part := range ready {
		s := parts[part]
		s.mu.Lock()
		for _, r := range s.pending {
			out = append(out, r)
		}
		s.mu.Unlock()
	}
	if len(out) > 0 {
		v := p.nextVersion(now)
		for i := range out {
			out[i].Version, out[i].EmittedAt = v, now.UnixMilli()
		}
		slices.SortFunc(out, func(a, b metrics.MinuteRow) int {
			return cmp.Or(cmp.Compare(a.StreamID, b.StreamID), cmp.Compare(a.Minute, b.Minute), cmp.Compare(a.Partition, b.Partition))
		})
		if err := p.st.Insert(ctx, now, out); err != nil {
			return fmt.Errorf("cannot write %d minute rows: %w", len(out), err)
		}
		for _, part := range ready {
			s := parts[part]
			s.mu.Lock()
			// Only what was written: rows added meanwhile stay pending.
			for _, r := range out {
				if r.Partition == part {
					if cur, ok := s.pending[rowKey{r.StreamID, r.Minute}]; ok && sameFigures(cur, r) {
						delete(s.pending, rowKey{r.StreamID, r.Minute})
					}
				}
			}
			for k := range s.provisional {
				if k.minute+60_000 <= w {
					delete(s.provisional, k) // its minute ended: Advance owns it now
				}
			}
			s.mu.Unlock()
		}
	}
	// Record progress when another minute became final (not on every tick: each record is a
	// part), for every such partition in one INSERT.
	final := firstOpenMinute(w, p.cfg.Metrics.AllowedLateness)
	var values []string
	var advanced []*shardState
	for _, part := range ready {
		s := parts[part]
		if final <= s.progress {
			continue
		}
		values = append(values, fmt.Sprintf("(%d, fromUnixTimestamp64Milli(%d, 'UTC'), %d)", part, w, p.nextVersion(p.cfg.Now())))
		advanced = append(advanced, s)
	}
	if len(values) > 0 {
		err := p.st.Backend().Exec(ctx, "INSERT INTO rollup_progress (kafka_partition, watermark, version) VALUES "+strings.Join(values, ", "))
		if err != nil {
			return fmt.Errorf("cannot record rollup progress: %w", err)
		}
		for _, s := range advanced {
			s.progress = final
		}
	}
	return nil
}

type rowKey struct {
	stream string
	minute int64
}

// sameFigures compares rows apart from their emission stamp.
func sameFigures(a, b metrics.MinuteRow) bool {
	a.Version, a.EmittedAt, b.Version, b.EmittedAt = 0, 0, 0, 0
	return a == b
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

// publishFlags delivers the flags the shards raised; on failure they stay for the next Emit.
func (p *Processor) publishFlags(ctx context.Context, parts map[int32]*shardState, ready []int32) error {
	if p.cfg.Flags == nil {
		return nil
	}
	var all []detectors.Flag
	for _, part := range ready {
		s := parts[part]
		s.mu.Lock()
		all = append(all, s.flags...)
		s.mu.Unlock()
	}
	if len(all) == 0 {
		return nil
	}
	if err := p.cfg.Flags.Publish(ctx, all, ""); err != nil {
		return err
	}
	for _, part := range ready {
		s := parts[part]
		s.mu.Lock()
		s.flags = nil // Emit is serialized: nothing was added since they were collected
		s.mu.Unlock()
	}
	return nil
}
