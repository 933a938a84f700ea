package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/livepulse/livepulse/pipeline/bench"
)

// runBench runs the end-to-end benchmark on the embedded stack (pipeline/bench).
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cfg bench.Config
	fs.IntVar(&cfg.Events, "events", 2_000_000, "events produced into the broker, then drained by the pipeline")
	fs.IntVar(&cfg.Streams, "streams", 200, "concurrent live streams in the simulated traffic")
	fs.Float64Var(&cfg.Rate, "rate", 20_000, "simulated events per second of event time at the traffic curve's level 1 (shapes the backlog's event-time span)")
	fs.Int64Var(&cfg.Seed, "seed", 1, "simulator seed")
	fs.IntVar(&cfg.Partitions, "partitions", 4, "partitions per topic")
	fs.DurationVar(&cfg.LatencyDuration, "latency-duration", 0, "length of the steady-rate latency phase (default 40s; negative skips it)")
	fs.DurationVar(&cfg.LatencyHistory, "latency-history", 2*time.Minute, "event time of the latency phase's traffic produced at once before it goes live (the detectors' warm-up)")
	fs.Float64Var(&cfg.LatencyRate, "latency-rate", 5_000, "events per second in the latency phase")
	fs.IntVar(&cfg.DecodeSample, "decode-sample", 200_000, "messages decoded by each decoder in the comparison")
	fs.StringVar(&cfg.Kcat, "kcat", "kcat", "kcat executable (Debian's kcat, librdkafka)")
	fs.BoolVar(&cfg.SkipKcat, "no-kcat", false, "skip the kcat read (no ratio_vs_kcat)")
	fs.StringVar(&cfg.LibraryPath, "libchdb", "", "path to libchdb.so (default: $LIVEPULSE_LIBCHDB, else where scripts/setup.sh installs it)")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "where the run's temporary store directory is made (default: the system's temporary directory)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the drain phase to this file")
	fs.StringVar(&cfg.Trace, "trace", "", "write a Go execution trace of the drain phase to this file (go tool trace)")
	asJSON := fs.Bool("json", false, "also print the report as one line of JSON, last")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.Logger = newLogger(*logLevel)
	cfg.CPUProfile = *cpuProfile
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Print(rep.Table())
	if *asJSON {
		js, err := rep.JSON()
		if err != nil {
			return err
		}
		os.Stdout.Write(append(js, '\n'))
	}
	return nil
}
