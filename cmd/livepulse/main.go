// Command livepulse watches live commerce: it consumes viewer, order and refund events from
// Kafka into ClickHouse and serves what it finds over HTTP.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones (--timezone) on machines without a zoneinfo database
)

var commands = []struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}{
	{"demo", "broker + simulator + pipeline + embedded ClickHouse + HTTP in one process", runDemo},
	{"run", "the pipeline: Kafka → ClickHouse, with the HTTP API", runPipeline},
	{"broker", "a standalone Kafka-protocol broker for local work", runBroker},
	{"simulate", "realistic live-commerce traffic into Kafka", runSimulate},
	{"migrate", "create or upgrade the ClickHouse schema", runMigrate},
	{"query", "read-only SQL against the store", runQuery},
	{"audit", "KOL audit: scorecards, a brand's KOLs side by side, flags (table, csv, json, parquet)", runAudit},
	{"store", "serve the embedded ClickHouse over ClickHouse's HTTP interface to many instances", runStore},
	{"eval", "score the detectors on simulated scenarios through the real pipeline", runEval},
	{"replay", "re-run the detectors over stored events; flags stored as a replay run", runReplay},
	{"bench", "end-to-end benchmark on the embedded stack: throughput, CPU, latency, kcat ratio", runBench},
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.name == os.Args[1] {
			if err := c.run(ctx, os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "livepulse %s: %v\n", c.name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "livepulse: unknown command %q\n\n", os.Args[1])
	usage()
	os.Exit(2)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: livepulse COMMAND [flags]   (livepulse COMMAND -h for its flags)")
	fmt.Fprintln(os.Stderr)
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-9s %s\n", c.name, c.summary)
	}
}
