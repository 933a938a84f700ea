package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
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

	// Scenarios: `simulate` only (registerScenarios); zero for `demo`.
	scenarios        []string
	scenarioOnset    time.Duration
	scenarioDuration time.Duration
}

func (o *simulateOptions) register(fs *flag.FlagSet, defaultDuration time.Duration, defaultBad float64) {
	fs.Float64Var(&o.rate, "rate", 2000, "mean events per second of event time (the traffic curve and stream popularity shape it)")
	fs.IntVar(&o.streams, "streams", 50, "concurrent live streams at the peak")
	fs.DurationVar(&o.duration, "duration", defaultDuration, "event time to simulate")
	fs.Int64Var(&o.seed, "seed", 0, "random seed: the same seed gives the same traffic (and the same event ids); 0 picks one from the clock")
	fs.Float64Var(&o.speed, "speed", 1, "1 = live (event time follows the wall clock), N = N× faster, 0 = as fast as possible")
	fs.Float64Var(&o.bad, "bad-fraction", defaultBad, "fraction of malformed messages, to exercise the dead-letter path")
}

// registerScenarios adds the flags of fraud scenarios and legitimate surges.
func (o *simulateOptions) registerScenarios(fs *flag.FlagSet) {
	fs.Func("scenario", "inject a fraud scenario or legitimate surge into the traffic, on streams picked from the seed: "+
		"repeatable or comma-separated, \"all\" for every one (--list-scenarios lists them); --duration then defaults to "+
		"the onset plus the longest scenario plus 15 min", func(v string) error {
		names, err := simulate.ParseScenarios(v)
		o.scenarios = append(o.scenarios, names...)
		return err
	})
	fs.DurationVar(&o.scenarioOnset, "scenario-onset", 5*time.Minute, "event time from the start of the run to the scenarios' onset "+
		"(surge_midnight starts the run this long before the last midnight in Asia/Shanghai instead)")
	fs.DurationVar(&o.scenarioDuration, "scenario-duration", 0, "length of each scenario; 0 = each one's own (--list-scenarios)")
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
	onset := o.scenarioOnset
	if onset == 0 {
		onset = -1 // at the start (Config's zero means its default)
	}
	return simulate.NewGenerator(simulate.Config{
		Streams: o.streams, Rate: o.rate, Start: start, Duration: o.duration, Seed: o.seed, BadFraction: o.bad,
		Scenarios: o.scenarios, ScenarioOnset: onset, ScenarioDuration: o.scenarioDuration,
	})
}

// scenarioRunDuration is the default --duration with scenarios: the onset, the longest
// scenario, and a quarter of an hour for the traffic to return to normal (and refunds to come).
func (o *simulateOptions) scenarioRunDuration() time.Duration {
	longest := o.scenarioDuration
	for _, info := range simulate.Scenarios() {
		for _, name := range o.scenarios {
			if name == info.Name && o.scenarioDuration == 0 {
				longest = max(longest, info.Duration)
			}
		}
	}
	return o.scenarioOnset + longest + 15*time.Minute
}

func listScenarios(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tKIND\tFRAUD\tLENGTH\tWHAT")
	for _, info := range simulate.Scenarios() {
		kind := info.Kind
		if kind == "" {
			kind = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%v\t%s\n", info.Name, kind, info.Fraud, info.Duration, info.About)
	}
	fmt.Fprintf(tw, "%s\t\t\t\tevery scenario at once, each fraud and stream surge on a stream of its own\n", simulate.ScenarioAll)
	return tw.Flush()
}

// writeLabels writes the scenarios' ground truth to path ("-" for stdout).
func writeLabels(path string, labels []simulate.Label) error {
	if path == "-" {
		return simulate.WriteLabels(os.Stdout, labels)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := simulate.WriteLabels(f, labels); err != nil {
		f.Close()
		return fmt.Errorf("cannot write labels: %w", err)
	}
	return f.Close()
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
	o.registerScenarios(fs)
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	topicPrefix := fs.String("topic-prefix", "livepulse.", "topics are PREFIX{viewer,order,refund}")
	labelsPath := fs.String("labels", "", "write the scenarios' ground truth (one JSON object a line: scenario, kind, fraud, stream_id, "+
		"kol_id, onset, end, params...) to this file before producing, - for stdout; empty: not written (stderr lists the scenarios anyway)")
	list := fs.Bool("list-scenarios", false, "list the scenarios --scenario accepts and exit")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *list {
		return listScenarios(os.Stdout)
	}
	durationSet := false
	fs.Visit(func(f *flag.Flag) { durationSet = durationSet || f.Name == "duration" })
	if len(o.scenarios) > 0 && !durationSet {
		o.duration = o.scenarioRunDuration()
	}
	g := o.generator()
	labels := g.Labels()
	for _, l := range labels {
		where := "every stream"
		if l.StreamID != "" {
			where = "stream " + l.StreamID + " (" + l.KOLID + ", " + l.Platform + ")"
		}
		fmt.Fprintf(os.Stderr, "scenario %s on %s from %s to %s\n", l.Scenario, where, l.Onset.Format(time.RFC3339), l.End.Format(time.RFC3339))
	}
	if *labelsPath != "" {
		if err := writeLabels(*labelsPath, labels); err != nil {
			return err
		}
	}
	cfg := o.produceConfig(splitList(*brokers), *topicPrefix)
	cfg.Progress = os.Stderr
	stats, err := simulate.Produce(ctx, g, cfg)
	fmt.Fprintf(os.Stderr, "\n%s\n", stats)
	return err
}
