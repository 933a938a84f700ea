package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/livepulse/livepulse/pipeline/broker"
	"github.com/livepulse/livepulse/pipeline/simulate"
)

func runDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var so storeOptions
	var po pipelineOptions
	var sim simulateOptions
	so.register(fs, "livepulse-data")
	po.register(fs)
	sim.register(fs, 24*time.Hour, 0.001)
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP listen address")
	brokerAddr := fs.String("broker-listen", "127.0.0.1:0", "address of the embedded Kafka broker (default: a free port)")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	log := newLogger(*logLevel)
	so.clickhouse = "" // the demo is the embedded stack

	// Start in order: broker, pipeline (store, HTTP, consumer), simulator. Stop in reverse.
	b, err := broker.Start(broker.Config{Listen: *brokerAddr, DataDir: filepath.Join(so.dataDir, "kafka"), Partitions: po.partitions, Logger: log})
	if err != nil {
		return err
	}
	defer b.Close()
	po.brokers = b.Addr()
	p, err := startPipeline(ctx, log, so, po, *httpAddr)
	if err != nil {
		return err
	}
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan error, 1)
	go func() {
		_, err := simulate.Produce(simCtx, sim.generator(), sim.produceConfig([]string{b.Addr()}, po.topicPrefix))
		simDone <- err
	}()

	fmt.Printf(`livepulse demo running — Ctrl-C stops it cleanly.
  Kafka broker     %s   (kcat -b %s -L)
  Board            http://%s/
  HTTP             http://%s   (/healthz /readyz /metrics)
  SQL              curl -s http://%s/api/query --data-binary 'SELECT count() FROM orders'
                   or: go run ./cmd/livepulse query --data-dir %s 'SELECT platform, sum(amount) FROM orders GROUP BY platform'
  ClickHouse data  %s
`, b.Addr(), b.Addr(), p.httpAddr, p.httpAddr, p.httpAddr, so.dataDir, filepath.Join(so.dataDir, "clickhouse"))

	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case err := <-simDone:
			if err != nil && ctx.Err() == nil {
				log.Error("simulator stopped", "err", err)
			}
			simDone = nil
		case <-tick.C:
			printStoredCounts(ctx, p)
		}
	}
	fmt.Println("\nstopping: simulator, then the pipeline (flush + commit), then the broker …")
	stopSim()
	if simDone != nil {
		<-simDone
	}
	if err := p.stop(); err != nil {
		return err
	}
	fmt.Println("stopped cleanly.")
	return nil
}

// printStoredCounts prints one status line: rows stored per table, straight from ClickHouse.
func printStoredCounts(ctx context.Context, p *pipeline) {
	const q = `SELECT
  (SELECT count() FROM viewer_events), (SELECT count() FROM orders), (SELECT count() FROM refunds),
  (SELECT count() FROM dead_letters), (SELECT sum(amount) FROM orders)`
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := p.store.Backend().Query(ctx, q, "TabSeparated")
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot count stored rows: %v\n", err)
		return
	}
	f := strings.Split(strings.TrimSpace(string(out)), "\t")
	if len(f) != 5 {
		return
	}
	fmt.Printf("%s  stored in ClickHouse: viewer_events %s · orders %s · refunds %s · dead_letters %s · GMV %s\n",
		time.Now().Format("15:04:05"), f[0], f[1], f[2], f[3], f[4])
}
