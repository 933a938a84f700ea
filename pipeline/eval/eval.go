// Package eval measures the detectors against the simulator's ground truth, through the real
// pipeline: for each seed, simulated traffic with injected fraud and legitimate surges goes to
// an in-process Kafka broker, the consumer and the rollup stage (with the detectors) store it in
// the embedded ClickHouse, and the flags read back from anomaly_flags are scored against the
// scenarios' labels (Score): per kind precision, recall and time-to-flag, and the flags raised
// on surge and clean streams.
package eval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/broker"
	"github.com/livepulse/livepulse/pipeline/flags"
	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/replay"
	"github.com/livepulse/livepulse/pipeline/rollup"
	"github.com/livepulse/livepulse/pipeline/simulate"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/store/chdb"
	"github.com/livepulse/livepulse/pipeline/window"
)

// Config configures Run. The zero value works (given libchdb.so where FindLibrary looks).
type Config struct {
	// Seeds: one run per seed, each on a fresh broker and store. Default 1, 2, 3.
	Seeds []int64
	// Streams, Rate: the simulator's concurrent streams and events per second at the traffic
	// curve's level 1 (the midnight sale start of surge_midnight reaches 5.2). Defaults 20, 150.
	Streams int
	Rate    float64
	// Scenarios to inject (simulate.ParseScenarios names). Default all.
	Scenarios []string
	// Duration is the event time each run simulates. Default 45 min: the scenarios start 5 min
	// in and the longest fraud (order_brushing) lasts 20.
	Duration time.Duration
	// Start is the event time of each run's first event. Default: the runs end before now (a
	// backlog, so the contract's timestamp checks accept every event); with surge_midnight,
	// 5 min before the last local midnight (Asia/Shanghai) that leaves room for Duration, so
	// every run sees the same time of day whenever it is made. Without surge_midnight the
	// default follows the clock (the traffic curve then depends on the hour).
	Start time.Time
	// Grace extends each fraud label's end when matching flags. Default 5 min.
	Grace time.Duration
	// Detectors are the thresholds evaluated. The zero value means detectors.DefaultConfig().
	Detectors detectors.Config
	// Partitions of each topic. Default 4.
	Partitions int
	// MaxOutOfOrder is the watermark's bounded out-of-orderness. Default 5 s (`livepulse run`'s).
	MaxOutOfOrder time.Duration
	// LibraryPath is libchdb.so (default: chdb.FindLibrary's search). DataDir is where each
	// run's store directory is made, and removed after the run (default: os.TempDir()).
	LibraryPath, DataDir string
	// Timeout bounds each run's wall time. Default 15 min.
	Timeout time.Duration
	// Replay, when set, also replays each run's stored traffic (pipeline/replay) and records
	// how its flags differ from the live ones in Outcome.ReplayMismatches.
	Replay bool
	// Logger receives progress at info level; nil is silent.
	Logger *slog.Logger
}

const defaultOnset = 5 * time.Minute // simulate.Config.ScenarioOnset's default

func (c Config) withDefaults() Config {
	if len(c.Seeds) == 0 {
		c.Seeds = []int64{1, 2, 3}
	}
	if c.Streams <= 0 {
		c.Streams = 20
	}
	if c.Rate <= 0 {
		c.Rate = 150
	}
	if len(c.Scenarios) == 0 {
		c.Scenarios = []string{simulate.ScenarioAll}
	}
	if c.Duration <= 0 {
		c.Duration = 45 * time.Minute
	}
	if c.Grace <= 0 {
		c.Grace = 5 * time.Minute
	}
	if reflect.ValueOf(c.Detectors).IsZero() {
		c.Detectors = detectors.DefaultConfig()
	}
	if c.Partitions <= 0 {
		c.Partitions = 4
	}
	if c.MaxOutOfOrder <= 0 {
		c.MaxOutOfOrder = 5 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Run runs every seed through the pipeline, one after the other (the embedded engine serves
// one data directory per process at a time), and scores the flags against the labels.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg = cfg.withDefaults()
	names, err := simulate.ParseScenarios(cfg.Scenarios...)
	if err != nil {
		return Report{}, err
	}
	cfg.Scenarios = names
	if err := cfg.Detectors.Validate(); err != nil {
		return Report{}, fmt.Errorf("invalid detectors config: %w", err)
	}
	lib, err := chdb.FindLibrary(cfg.LibraryPath)
	if err != nil {
		return Report{}, err
	}
	cfg.LibraryPath = lib
	start := cfg.Start
	if start.IsZero() {
		start = defaultStart(time.Now(), cfg.Duration, slices.Contains(names, simulate.ScenarioSurgeMidnight))
	}
	var outs []Outcome
	for _, seed := range cfg.Seeds {
		o, err := runSeed(ctx, cfg, seed, start)
		if err != nil {
			return Report{}, fmt.Errorf("seed %d: %w", seed, err)
		}
		cfg.Logger.Info("eval run done", "seed", seed, "messages", o.Messages, "labels", len(o.Labels), "flags", len(o.Flags), "elapsed", o.Elapsed.Round(100*time.Millisecond))
		outs = append(outs, o)
	}
	rep := Score(outs, cfg.Grace)
	rep.Streams, rep.Rate, rep.DurationS, rep.Scenarios = cfg.Streams, cfg.Rate, cfg.Duration.Seconds(), names
	return rep, nil
}

// defaultStart is Config.Start's default.
func defaultStart(now time.Time, d time.Duration, midnight bool) time.Time {
	if !midnight {
		return now.Add(-d).Truncate(time.Minute)
	}
	// The last local midnight M with M - onset + d ≤ now: the run starts onset before it.
	t := now.Add(-d + defaultOnset).In(shanghai())
	y, m, day := t.Date()
	return time.Date(y, m, day, 0, 0, 0, 0, t.Location()).Add(-defaultOnset)
}

// shanghai is the simulator's default location.
func shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}

// runSeed runs one seed on a fresh broker and store and returns its labels and flags.
func runSeed(ctx context.Context, cfg Config, seed int64, start time.Time) (out Outcome, err error) {
	began := time.Now()
	log := cfg.Logger.With("seed", seed)
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	dir, err := os.MkdirTemp(cfg.DataDir, "livepulse-eval-")
	if err != nil {
		return out, err
	}
	defer os.RemoveAll(dir)
	b, err := broker.Start(broker.Config{Partitions: cfg.Partitions})
	if err != nil {
		return out, err
	}
	defer b.Close()
	eng, err := store.OpenEmbedded(chdb.Config{LibraryPath: cfg.LibraryPath, DataDir: filepath.Join(dir, "clickhouse")})
	if err != nil {
		return out, err
	}
	st := store.New(eng, log)
	defer func() { err = errors.Join(err, st.Close()) }()
	if _, err := st.Migrate(ctx); err != nil {
		return out, err
	}

	icfg := ingest.Config{Brokers: []string{b.Addr()}, Partitions: cfg.Partitions, FlushInterval: 500 * time.Millisecond, Logger: log}
	if err := ingest.EnsureTopics(ctx, icfg); err != nil {
		return out, err
	}
	gen := simulate.NewGenerator(simulate.Config{
		Streams: cfg.Streams, Rate: cfg.Rate, Start: start, Duration: cfg.Duration, Seed: seed, Scenarios: cfg.Scenarios,
	})
	out = Outcome{Seed: seed, Labels: gen.Labels()}
	stats, err := simulate.Produce(ctx, gen, simulate.ProduceConfig{Brokers: []string{b.Addr()}, Unpaced: true, Logger: log})
	if err != nil {
		return out, fmt.Errorf("cannot produce: %w", err)
	}
	out.Messages, out.Streams = stats.Messages, stats.Streams
	log.Info("produced", "messages", stats.Messages, "elapsed", time.Since(began).Round(100*time.Millisecond))

	pub := &recorder{Publisher: flags.NewPublisher(flags.Config{Logger: log}, st), first: map[string]int64{}}
	defer func() { err = errors.Join(err, pub.Close()) }()
	det := cfg.Detectors
	proc := rollup.New(rollup.Config{
		Window:    window.Config{MaxOutOfOrder: cfg.MaxOutOfOrder, IdleTimeout: time.Second},
		Metrics:   metrics.Config{AllowedLateness: time.Minute},
		Detectors: &det,
		Flags:     pub,
		Logger:    log,
	}, st)
	icfg.Processor = proc
	c, err := ingest.New(icfg, st)
	if err != nil {
		return out, err
	}
	runCtx, stopRun := context.WithCancel(ctx)
	done, procDone := make(chan error, 1), make(chan struct{})
	go func() { done <- c.Run(runCtx) }()
	go func() { proc.Run(runCtx); close(procDone) }()
	defer func() { stopRun(); <-procDone }() // before the store closes
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		c.Stop()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			stopRun()
			return errors.Join(errors.New("the consumer did not stop within a minute"), <-done)
		}
	}
	defer func() { err = errors.Join(err, stop()) }()

	// Everything stored...
	for {
		n, err := queryInt(ctx, st, "SELECT (SELECT count() FROM viewer_events) + (SELECT count() FROM orders) + (SELECT count() FROM refunds) + (SELECT count() FROM dead_letters)")
		if err != nil {
			return out, err
		}
		if n >= stats.Messages {
			break
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return out, fmt.Errorf("stored %d of %d messages: %w", n, stats.Messages, err)
		}
	}
	// ...and the watermark at the last event less the out-of-orderness (every partition idle),
	// so the detectors are evaluated up to the end of the traffic.
	last, err := queryInt(ctx, st, "SELECT greatest((SELECT toUnixTimestamp64Milli(max(ts)) FROM viewer_events), (SELECT toUnixTimestamp64Milli(max(ts)) FROM orders), (SELECT toUnixTimestamp64Milli(max(ts)) FROM refunds))")
	if err != nil {
		return out, err
	}
	for proc.Watermark() < last-cfg.MaxOutOfOrder.Milliseconds() {
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return out, fmt.Errorf("watermark %d short of %d: %w", proc.Watermark(), last-cfg.MaxOutOfOrder.Milliseconds(), err)
		}
	}
	// Advance the detectors and publish before the consumer stops: stopping closes the shards.
	if err := proc.Emit(ctx); err != nil {
		return out, err
	}
	until := proc.Watermark() // where the live detectors stopped; a replay stops there too
	if err := stop(); err != nil {
		return out, err
	}
	stopRun()
	<-procDone // no Emit (hence no Publish) after this
	log.Info("consumed", "elapsed", time.Since(began).Round(100*time.Millisecond))

	if out.Late, err = queryInt(ctx, st, "SELECT count() FROM viewer_events WHERE late = 1"); err != nil {
		return out, err
	}
	if out.Evident, out.Early, err = evidenceTimes(ctx, st, out.Labels); err != nil {
		return out, err
	}
	if out.Flags, err = readFlags(ctx, st, ""); err != nil {
		return out, err
	}
	// The first emission of each flag, as published: anomaly_flags keeps only the last version
	// once its parts merge, so min(detected_at) there is the first only until a merge.
	for i := range out.Flags {
		f := &out.Flags[i]
		first, ok := pub.first[f.FlagID]
		if !ok {
			return out, fmt.Errorf("flag %s is stored but was never published", f.FlagID)
		}
		if stored := f.FirstDetected.UnixMilli(); stored < first {
			return out, fmt.Errorf("flag %s: stored detected_at %d before its first emission %d", f.FlagID, stored, first)
		}
		f.FirstDetected = time.UnixMilli(first).UTC()
	}
	if len(out.Flags) != len(pub.first) {
		return out, fmt.Errorf("%d flags published, %d stored", len(pub.first), len(out.Flags))
	}
	// In first-emission order: the store's min(detected_at), by which readFlags sorted, depends
	// on whether parts merged.
	slices.SortFunc(out.Flags, func(a, b Flag) int {
		return cmp.Or(a.FirstDetected.Compare(b.FirstDetected), cmp.Compare(a.FlagID, b.FlagID))
	})
	out.Start = start.UTC()
	// surge_midnight may have moved an explicit start back (never the default one): the first
	// event tells.
	first, err := queryInt(ctx, st, "SELECT toUnixTimestamp64Milli(min(ts)) FROM viewer_events")
	if err != nil {
		return out, err
	}
	if first != 0 && first < start.UnixMilli() {
		out.Start = time.UnixMilli(first).Truncate(time.Second).UTC()
	}
	if cfg.Replay {
		if out.ReplayMismatches, err = replayMatches(ctx, cfg, st, pub.Publisher, out, until); err != nil {
			return out, err
		}
	}
	out.Elapsed = time.Since(began)
	return out, nil
}

// replayMatches replays the stored traffic of a run through `livepulse replay`'s code and lists
// how its flags differ from the live ones (nothing, when detection is a function of event time).
func replayMatches(ctx context.Context, cfg Config, st *store.Store, pub *flags.Publisher, live Outcome, until int64) ([]string, error) {
	id := fmt.Sprintf("eval-seed-%d", live.Seed)
	rec := &recorder{Publisher: pub, first: map[string]int64{}}
	rep, err := replay.Run(ctx, st, rec, replay.Config{From: live.Start, To: time.UnixMilli(until), Detectors: cfg.Detectors, ID: id})
	if err != nil {
		return nil, err
	}
	replayed, err := readFlags(ctx, st, id)
	if err != nil {
		return nil, err
	}
	for i := range replayed { // the first emission as published, as for the live flags
		f := &replayed[i]
		f.FlagID = strings.TrimSuffix(f.FlagID, "@"+id)
		first, ok := rec.first[f.FlagID]
		if !ok {
			return nil, fmt.Errorf("replayed flag %s is stored but was never published", f.FlagID)
		}
		f.FirstDetected = time.UnixMilli(first).UTC()
	}
	key := func(f Flag) string {
		return fmt.Sprintf("%s %s %s window %s–%s first %s severity %s score %.4f state %s",
			f.FlagID, f.Kind, f.StreamID, f.WindowStart.Format(time.TimeOnly), f.WindowEnd.Format(time.TimeOnly),
			f.FirstDetected.Format(time.TimeOnly), f.Severity, f.Score, f.State)
	}
	want, got := map[string]bool{}, map[string]bool{}
	for _, f := range live.Flags {
		want[key(f)] = true
	}
	for _, f := range replayed {
		got[key(f)] = true
	}
	var diff []string
	for k := range want {
		if !got[k] {
			diff = append(diff, "live only: "+k)
		}
	}
	for k := range got {
		if !want[k] {
			diff = append(diff, "replay only: "+k)
		}
	}
	if rep.Late > 0 {
		diff = append(diff, fmt.Sprintf("replay saw %d late events", rep.Late))
	}
	slices.Sort(diff)
	return diff, nil
}

// recorder is the flags publisher that notes each flag's first emission (event time).
type recorder struct {
	*flags.Publisher
	mu    sync.Mutex
	first map[string]int64 // flag_id → earliest DetectedAt published
}

func (r *recorder) Publish(ctx context.Context, fs []detectors.Flag, replayID string) error {
	if err := r.Publisher.Publish(ctx, fs, replayID); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range fs {
		if d, ok := r.first[f.FlagID]; !ok || f.DetectedAt < d {
			r.first[f.FlagID] = f.DetectedAt
		}
	}
	return nil
}

// readFlags reads the flags' last versions (FINAL) with the earliest detected_at of each.
// readFlags reads the flags of one run: live ones (replayID "") or a replay's.
func readFlags(ctx context.Context, st *store.Store, replayID string) ([]Flag, error) {
	q := `SELECT f.flag_id, f.kind, f.stream_id, f.severity, f.score, f.state,
  toUnixTimestamp64Milli(f.window_start), toUnixTimestamp64Milli(f.window_end), toUnixTimestamp64Milli(e.first),
  arrayStringConcat(JSONExtract(f.evidence, 'fired', 'Array(String)'), ',')
FROM (SELECT * FROM anomaly_flags FINAL WHERE replay_id = ` + quote(replayID) + `) AS f
INNER JOIN (SELECT flag_id, min(detected_at) AS first FROM anomaly_flags GROUP BY flag_id) AS e ON e.flag_id = f.flag_id
ORDER BY e.first, f.flag_id`
	raw, err := st.Backend().Query(ctx, q, "TabSeparated")
	if err != nil {
		return nil, fmt.Errorf("cannot read flags: %w", err)
	}
	var fs []Flag
	for line := range strings.SplitSeq(strings.TrimSpace(string(raw)), "\n") {
		if line == "" {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 10 {
			return nil, fmt.Errorf("cannot read flags: %d columns in %q", len(c), line)
		}
		f := Flag{FlagID: c[0], Kind: c[1], StreamID: c[2], Severity: c[3], State: c[5]}
		var errs [4]error
		f.Score, errs[0] = strconv.ParseFloat(c[4], 64)
		var ms [3]int64
		for i := range ms {
			ms[i], errs[i+1] = strconv.ParseInt(c[6+i], 10, 64)
		}
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("cannot read flags: %w", err)
		}
		f.WindowStart, f.WindowEnd, f.FirstDetected = time.UnixMilli(ms[0]).UTC(), time.UnixMilli(ms[1]).UTC(), time.UnixMilli(ms[2]).UTC()
		if c[9] != "" {
			f.Fired = strings.Split(c[9], ",")
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func queryInt(ctx context.Context, st *store.Store, sql string) (int64, error) {
	raw, err := st.Backend().Query(ctx, sql, "TabSeparated")
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(raw))
	if s == `\N` || s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// quote returns s as a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
