// Package bench is livepulse's reproducible end-to-end benchmark on the embedded stack (in-process
// Kafka broker, the pipeline with metrics and detectors, embedded ClickHouse, all in one process):
//
//  1. produce: Events messages of the simulator's realistic mix into the broker (not timed);
//  2. drain: the pipeline consumes that backlog; timed from its start until every partition's
//     offset is committed (offsets are committed only after ClickHouse holds the rows), with
//     CPU seconds (getrusage), inserts per table and mean batch size;
//  3. kcat: Debian's kcat (librdkafka, C) reads the same topics — the read path's ceiling;
//  4. decode: encoding/json against the contract's strict decoder, on a sample of the messages;
//  5. latency: live traffic at a steady rate with a fraud scenario while the pipeline runs:
//     event-to-queryable (Kafka produce time → the row visible in ClickHouse) and event-to-flag
//     (the watermark passing the evaluation's window end → the flag published).
//
// A backlog says nothing about latency (every event waits behind the backlog), hence phase 5.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/livepulse/livepulse/pipeline/broker"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/store/chdb"
)

// Config configures Run. The zero value works (given libchdb.so where chdb.FindLibrary looks).
type Config struct {
	// Events is the backlog produced and then drained. Default 2,000,000.
	Events int
	// Streams and Rate shape the simulated traffic (simulate.Config): concurrent streams, and
	// events per second of event time at the traffic curve's level 1. Defaults 200 and 20,000.
	Streams int
	Rate    float64
	// Seed selects the simulated traffic. Default 1.
	Seed int64
	// Partitions of each topic. Default 4.
	Partitions int
	// LatencyDuration is how long the steady-rate latency phase produces; 0 means 40 s,
	// negative skips the phase. LatencyRate is its rate, events/s. Default 5,000.
	LatencyDuration time.Duration
	LatencyRate     float64
	// LatencyHistory is event time of the latency phase's traffic produced at once before it
	// goes live, so its streams are past the detectors' warm-up (90 s) when it does; the fraud
	// scenarios start with it. Default 2 min.
	LatencyHistory time.Duration
	// DecodeSample is how many messages the decoder comparison decodes. Default 200,000.
	DecodeSample int
	// Kcat is the kcat executable; "" finds "kcat" on PATH. SkipKcat skips that phase (the ratio
	// is then absent).
	Kcat     string
	SkipKcat bool
	// LibraryPath is libchdb.so (default: chdb.FindLibrary's search). DataDir is where the run's
	// temporary store directory is made, and removed after (default: os.TempDir()).
	LibraryPath, DataDir string
	// CPUProfile, if set, receives a pprof CPU profile of the drain phase.
	CPUProfile string
	// Trace, if set, receives a Go execution trace (runtime/trace) of the drain phase: where the
	// goroutines wait (for an INSERT, for a fetch, for a core).
	Trace string
	// Timeout bounds the whole run. Default 30 min.
	Timeout time.Duration
	// Logger receives progress at info level; nil is silent.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Events <= 0 {
		c.Events = 2_000_000
	}
	if c.Streams <= 0 {
		c.Streams = 200
	}
	if c.Rate <= 0 {
		c.Rate = 20_000
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Partitions <= 0 {
		c.Partitions = 4
	}
	if c.LatencyDuration == 0 {
		c.LatencyDuration = 40 * time.Second
	}
	if c.LatencyHistory <= 0 {
		c.LatencyHistory = 2 * time.Minute
	}
	if c.LatencyRate <= 0 {
		c.LatencyRate = 5_000
	}
	if c.DecodeSample <= 0 {
		c.DecodeSample = 200_000
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// ErrKcatMissing means the kcat executable was not found (scripts/setup.sh --test installs it).
var ErrKcatMissing = errors.New("kcat not found (apt-get install kcat, or scripts/setup.sh --test; --no-kcat skips it)")

// Run runs every phase on a fresh broker and store and returns the report.
func Run(ctx context.Context, cfg Config) (rep Report, err error) {
	cfg = cfg.withDefaults()
	log := cfg.Logger
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	kcat := ""
	if !cfg.SkipKcat {
		name := cfg.Kcat
		if name == "" {
			name = "kcat"
		}
		if kcat, err = exec.LookPath(name); err != nil {
			return rep, fmt.Errorf("%w: %v", ErrKcatMissing, err)
		}
	}
	lib, err := chdb.FindLibrary(cfg.LibraryPath)
	if err != nil {
		return rep, err
	}
	dir, err := os.MkdirTemp(cfg.DataDir, "livepulse-bench-")
	if err != nil {
		return rep, fmt.Errorf("cannot create the bench directory: %w", err)
	}
	defer os.RemoveAll(dir)
	b, err := broker.Start(broker.Config{Partitions: cfg.Partitions})
	if err != nil {
		return rep, err
	}
	defer b.Close()
	eng, err := store.OpenEmbedded(chdb.Config{LibraryPath: lib, DataDir: filepath.Join(dir, "clickhouse")})
	if err != nil {
		return rep, err
	}
	st := store.New(eng, log)
	defer func() { err = errors.Join(err, st.Close()) }()
	if _, err := st.Migrate(ctx); err != nil {
		return rep, err
	}
	rep.Partitions, rep.Streams, rep.Seed = cfg.Partitions, cfg.Streams, cfg.Seed

	// 1. produce
	began := time.Now()
	prod, sample, err := produceBacklog(ctx, cfg, b.Addr())
	if err != nil {
		return rep, err
	}
	rep.Events, rep.ProduceSeconds = prod.messages, time.Since(began).Seconds()
	rep.BacklogBytes = prod.bytes
	log.Info("backlog produced", "events", prod.messages, "bytes", prod.bytes, "seconds", rep.ProduceSeconds)

	// 2. drain
	p, err := startPipeline(ctx, cfg, b.Addr(), st)
	if err != nil {
		return rep, err
	}
	defer func() { err = errors.Join(err, p.stop()) }()
	stopProfile, err := startCPUProfile(cfg.CPUProfile)
	if err != nil {
		return rep, err
	}
	stopTrace, err := startTrace(cfg.Trace)
	if err != nil {
		return rep, errors.Join(err, stopProfile())
	}
	d, err := p.drain(ctx, prod.ends)
	if err = errors.Join(err, stopTrace(), stopProfile()); err != nil {
		return rep, err
	}
	rep.setDrain(d)
	log.Info("backlog drained", "seconds", d.seconds, "events_per_sec", rep.EventsPerSec)
	if err := p.verifyStored(ctx, prod.messages); err != nil {
		return rep, err
	}

	// 3. kcat (after the drain, so the two never share the CPUs)
	if kcat != "" {
		k, err := readWithKcat(ctx, kcat, b.Addr(), prod.ends)
		if err != nil {
			return rep, err
		}
		rep.setKcat(k)
		log.Info("kcat read", "events", k.messages, "seconds", k.seconds)
	}

	// 4. decode
	rep.Decode = compareDecoders(sample)

	// 5. latency, on the running pipeline
	if cfg.LatencyDuration > 0 {
		l, err := p.measureLatency(ctx, cfg, b.Addr())
		if err != nil {
			return rep, err
		}
		rep.setLatency(l)
	}
	rep.PeakRSSBytes = peakRSS()
	return rep, nil
}
