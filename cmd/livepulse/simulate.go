package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/livepulse/livepulse/pipeline/simulate"
	"github.com/livepulse/livepulse/schemas"
)

// simulateOptions are the simulator's flags, shared by `simulate` and `demo`.
type simulateOptions struct {
	rate     float64
	streams  int
	duration time.Duration
	seed     int64
	speed    float64
	bad      float64
}

func (o *simulateOptions) register(fs *flag.FlagSet, defaultDuration time.Duration, defaultBad float64) {
	fs.Float64Var(&o.rate, "rate", 2000, "mean events per second of event time (the traffic curve and stream popularity shape it)")
	fs.IntVar(&o.streams, "streams", 50, "concurrent live streams at the peak")
	fs.DurationVar(&o.duration, "duration", defaultDuration, "event time to simulate")
	fs.Int64Var(&o.seed, "seed", 0, "random seed: the same seed gives the same traffic (and the same event ids); 0 picks one from the clock")
	fs.Float64Var(&o.speed, "speed", 1, "1 = live (event time follows the wall clock), N = N× faster, 0 = as fast as possible")
	fs.Float64Var(&o.bad, "bad-fraction", defaultBad, "fraction of malformed messages, to exercise the dead-letter path")
}

func (o *simulateOptions) generator() *simulate.Generator {
	if o.seed == 0 {
		o.seed = time.Now().UnixNano() & (1<<40 - 1)
		fmt.Fprintf(os.Stderr, "simulator seed %d (pass --seed %d to repeat this traffic)\n", o.seed, o.seed)
	}
	start := time.Now().Truncate(time.Second)
	if o.speed == 0 {
		// A backlog: its event time ends now, so the contract's timestamp checks accept all of it.
		start = start.Add(-o.duration)
	}
	return simulate.NewGenerator(simulate.Config{
		Streams: o.streams, Rate: o.rate, Start: start, Duration: o.duration, Seed: o.seed, BadFraction: o.bad,
	})
}

func (o *simulateOptions) produceConfig(brokers []string, topicPrefix string) simulate.ProduceConfig {
	topics := make(map[schemas.Kind]string)
	for _, k := range schemas.Kinds {
		topics[k] = topicPrefix + k.String()
	}
	cfg := simulate.ProduceConfig{Brokers: brokers, Topics: topics, Speed: o.speed}
	if o.speed == 0 {
		cfg.Unpaced = true
	}
	return cfg
}

func runSimulate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	var o simulateOptions
	o.register(fs, 10*time.Minute, 0)
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	topicPrefix := fs.String("topic-prefix", "livepulse.", "topics are PREFIX{viewer,order,refund}")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg := o.produceConfig(splitList(*brokers), *topicPrefix)
	cfg.Progress = os.Stderr
	stats, err := simulate.Produce(ctx, o.generator(), cfg)
	fmt.Fprintf(os.Stderr, "\n%s\n", stats)
	return err
}
