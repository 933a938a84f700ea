package main

import (
	"context"
	"flag"

	"github.com/livepulse/livepulse/pipeline/broker"
)

func runBroker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9092", "address to listen on")
	dataDir := fs.String("data-dir", "", "keep topics and offsets here across restarts (default: in memory)")
	partitions := fs.Int("partitions", 4, "partitions of auto-created topics")
	if err := parse(fs, args); err != nil {
		return err
	}
	log := newLogger("info")
	b, err := broker.Start(broker.Config{Listen: *listen, DataDir: *dataDir, Partitions: *partitions, Logger: log})
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("stopping broker")
	b.Close()
	return nil
}
