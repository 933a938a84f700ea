// Package replay re-runs the detectors over events already stored in ClickHouse — after retuning
// their thresholds, or to see what a new detector would have raised — and stores the flags as a
// replay run (anomaly_flags.replayed = 1, replay_id = the run), apart from the live flags: a
// replayed flag's id is the live id with "@" and the run appended, so no live row is replaced,
// and nothing is sent to Kafka, SSE subscribers or webhooks.
//
// Detection is in event time, so a replay of the same events with the same thresholds flags the
// same episodes with the same windows as the live pipeline did (TestReplayEqualsLive). Like the
// live pipeline, one engine runs per Kafka partition (a stream's events share one), fed the
// partition's on-time events in event-time order; each chunk of event time is read, observed,
// and then the engine advances to the chunk's end, which is what a watermark does live.
package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/rollup"
	"github.com/livepulse/livepulse/pipeline/store"
)

// ErrRange reports an empty or inverted replay range.
var ErrRange = errors.New("replay: --to must be after --from")

// Publisher stores a replay's flags (flags.Publisher does).
type Publisher interface {
	Publish(ctx context.Context, fs []detectors.Flag, replayID string) error
}

// Config configures Run. From and To are required; other zero values work.
type Config struct {
	// From and To bound the event time replayed: flags detected in [From, To) are stored.
	From, To time.Time
	// Warmup is event time before From observed but not flagged, so windows and baselines are
	// built when From comes. Default 1 h (the longest detector window).
	Warmup time.Duration
	// Chunk is the event time read from the store at once, per partition. Default 10 min.
	Chunk time.Duration
	// Detectors are the thresholds replayed. Zero value: detectors.DefaultConfig().
	Detectors detectors.Config
	// ID names the run (anomaly_flags.replay_id). Default "replay-" and the UTC start time.
	ID string
	// Logger receives progress; nil is silent.
	Logger *slog.Logger
}

// Report sums up a run.
type Report struct {
	ID         string `json:"replay_id"`
	Partitions int    `json:"partitions"`
	Events     int    `json:"events"`
	Flags      int    `json:"flags"`     // distinct flags (episodes)
	Emissions  int    `json:"emissions"` // stored rows: opened, updated, closed
	Late       uint64 `json:"late"`      // events the engines saw behind their evaluations (0 expected)
}

func (c Config) withDefaults(now time.Time) Config {
	if c.Warmup <= 0 {
		c.Warmup = time.Hour
	}
	if c.Chunk <= 0 {
		c.Chunk = 10 * time.Minute
	}
	if reflect.ValueOf(c.Detectors).IsZero() {
		c.Detectors = detectors.DefaultConfig()
	}
	if c.ID == "" {
		c.ID = "replay-" + now.UTC().Format("20060102T150405Z")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Run replays [cfg.From, cfg.To) from st and publishes the flags to pub as run cfg.ID.
func Run(ctx context.Context, st *store.Store, pub Publisher, cfg Config) (Report, error) {
	cfg = cfg.withDefaults(time.Now())
	if !cfg.To.After(cfg.From) {
		return Report{}, ErrRange
	}
	if err := cfg.Detectors.Validate(); err != nil {
		return Report{}, fmt.Errorf("cannot replay: %w", err)
	}
	from, to := cfg.From.UnixMilli(), cfg.To.UnixMilli()
	start := from - cfg.Warmup.Milliseconds()
	parts, err := st.EventPartitions(ctx, start, to)
	if err != nil {
		return Report{}, fmt.Errorf("cannot replay: %w", err)
	}
	rep := Report{ID: cfg.ID, Partitions: len(parts)}
	seen := make(map[string]bool)
	for _, part := range parts {
		eng := detectors.NewEngine(cfg.Detectors)
		for a := start; a < to; a += cfg.Chunk.Milliseconds() {
			b := min(a+cfg.Chunk.Milliseconds(), to)
			events, err := st.ReadEvents(ctx, store.EventRange{Partition: part, From: a, To: b})
			if err != nil {
				return rep, fmt.Errorf("cannot replay: %w", err)
			}
			for i := range events {
				eng.Observe(&events[i])
			}
			rep.Events += len(events)
			if keys := eng.MissingHistory(); len(keys) > 0 {
				hs, err := rollup.LookupHistory(ctx, st, keys, eng.HistoryDays(), eng.HistoryWindow())
				if err != nil {
					return rep, fmt.Errorf("cannot replay: %w", err)
				}
				for k, h := range hs {
					eng.SetHistory(k, h)
				}
			}
			var keep []detectors.Flag
			for _, f := range eng.Advance(b) {
				if f.DetectedAt >= from { // the warm-up builds state; its flags were not asked for
					keep = append(keep, f)
					seen[f.FlagID] = true
				}
			}
			if err := pub.Publish(ctx, keep, cfg.ID); err != nil {
				return rep, fmt.Errorf("cannot replay: %w", err)
			}
			rep.Emissions += len(keep)
		}
		rep.Late += eng.Stats().Late
		cfg.Logger.Info("replayed partition", "partition", part, "events", rep.Events, "flags", len(seen))
	}
	rep.Flags = len(seen)
	return rep, nil
}
