package main

import (
	"flag"
	"time"

	"github.com/livepulse/livepulse/pipeline/ingest"
)

// dedupeOptions bound the per-partition event_id index (pipeline/ingest/dedupe.go).
type dedupeOptions struct {
	window    time.Duration
	maxEvents int
}

func (o *dedupeOptions) register(fs *flag.FlagSet) {
	fs.DurationVar(&o.window, "dedupe-window", 10*time.Minute, "a resent event_id is caught if its original is at most this much older in event time than the partition's newest event")
	fs.IntVar(&o.maxEvents, "dedupe-max-events", 100_000, "events remembered per partition for catching resent event_ids (about 61 bytes each); negative: off")
}

func (o *dedupeOptions) apply(cfg *ingest.Config) {
	cfg.DedupeWindow, cfg.DedupeMaxEvents = o.window, o.maxEvents
}
