package bench

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/simulate"
)

// pollEvery is how often the latency phase asks ClickHouse how far each partition is stored,
// and so the resolution (an upper bound) of event-to-queryable latencies.
const pollEvery = 50 * time.Millisecond

// fraudOnsetBeforeLive: the frauds begin this long before the live part, so the streams have
// the history's clean traffic behind them and their flags (about 20–30 s of event time after
// the onset) open while the traffic is live.
const fraudOnsetBeforeLive = 10 * time.Second

// fraudCopies is how many streams each of the latency phase's two frauds takes over: enough
// flag emissions in one run for a p99 that is more than its maximum.
const fraudCopies = 10

// latencyResult is the latency phase's measurement.
type latencyResult struct {
	events        int
	seconds       float64
	ingest        []time.Duration // per event: Kafka produce time → visible in ClickHouse
	flags         []time.Duration // per flag emission evaluated on live traffic: watermark past its window end → published
	catchUp       []time.Duration // the same for emissions evaluated on the history (the pipeline catching up)
	flagKinds     []string
	historyEvents int // produced at once before the live traffic
	unmatched     int // events never seen in ClickHouse before the phase's deadline
	flagsMissed   int // flag emissions whose watermark crossing was not observed in the phase
}

// measureLatency produces cfg.LatencyHistory of traffic at once and waits until it is stored, then
// live traffic at cfg.LatencyRate for cfg.LatencyDuration (two viewer_inflation frauds, on
// fraudCopies streams each, begin fraudOnsetBeforeLive before the live part, so their flags open in it), into the running
// pipeline, and measures over the live part:
//
//   - event-to-queryable: for each event, from its Kafka record timestamp (set by the producing
//     client) to the first poll of ClickHouse (every 50 ms) at which its table holds its
//     partition up to its offset — a table holds a prefix of each partition's rows;
//   - event-to-flag: for each flag emission evaluated on live traffic (detected_at in the live
//     part), from the first moment (sampled every 5 ms) the combined watermark reached the flag's
//     evaluation time (detected_at, the end of its evaluation window: the detectors evaluate a
//     window once the watermark passes its end) to the flag being published (anomaly_flags
//     written; livepulse.flags, SSE and webhooks are fed from the same call). Emissions evaluated
//     on the history are measured the same way but apart (catchUp): their watermark jumps with
//     the backlog while the detectors work through it, which is a backlog's cost, not a live
//     flag's delay.
func (p *pipeline) measureLatency(ctx context.Context, cfg Config, addr string) (latencyResult, error) {
	var res latencyResult
	onset := max(cfg.LatencyHistory-fraudOnsetBeforeLive, time.Millisecond)
	now := time.Now()
	level := max(simulate.CurveLevel(now.In(shanghai())), 0.05)
	g := simulate.NewGenerator(simulate.Config{
		Streams: cfg.Streams, Rate: cfg.LatencyRate / level, Start: now.Add(-cfg.LatencyHistory), Duration: cfg.LatencyHistory + cfg.LatencyDuration,
		Seed: cfg.Seed + 1, Scenarios: []string{simulate.ScenarioViewerInflationCount, simulate.ScenarioViewerInflationBots},
		ScenarioOnset: onset, ScenarioDuration: cfg.LatencyHistory + cfg.LatencyDuration - onset, ScenarioCopies: fraudCopies,
	})
	prod, err := newProducer(addr, cfg.Partitions, time.Millisecond)
	if err != nil {
		return res, err
	}
	flagsBefore := p.pub.count()
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	vis := &visibility{seen: make(map[string][]stored)}
	wms := &watermarks{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); vis.poll(sampleCtx, p) }()
	go func() { defer wg.Done(); wms.sample(sampleCtx, p) }()
	var m simulate.Message
	// The history, at once: the scenario's streams get the detectors' warm-up behind them.
	liveFrom := now.UnixMilli()
	more := g.Next(&m)
	for ; more && m.TS < liveFrom; more = g.Next(&m) {
		prod.send(ctx, &m)
	}
	hist, err := prod.finish(ctx)
	if err != nil {
		return res, err
	}
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 10 * time.Second}
	for {
		done, err := committed(ctx, client, hist.ends)
		if err != nil {
			return res, err
		}
		if done {
			break
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return res, err
		}
	}

	if prod, err = newProducer(addr, cfg.Partitions, time.Millisecond); err != nil {
		return res, err
	}
	var acks []ack
	prod.onAck = func(a ack) { acks = append(acks, a) }

	// Live: each event is produced when the wall clock reaches its event time, shifted by the
	// time the history took.
	start := time.Now()
	shift := start.UnixMilli() - liveFrom
	for ; more; more = g.Next(&m) {
		if wait := time.Until(time.UnixMilli(m.TS + shift)); wait > 2*time.Millisecond {
			if err := sleep(ctx, wait); err != nil {
				return res, err
			}
		}
		prod.send(ctx, &m)
	}
	out, err := prod.finish(ctx)
	if err != nil {
		return res, err
	}
	res.events, res.seconds = int(out.messages), time.Since(start).Seconds()
	res.historyEvents = int(hist.messages)

	// Wait for every event to be visible, and for the watermark to pass the last event (the
	// partitions go idle after the traffic stops) plus a few emission rounds for the flags.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !vis.covers(out.ends) {
		if err := sleep(ctx, pollEvery); err != nil {
			return res, err
		}
	}
	lastTS := liveFrom + cfg.LatencyDuration.Milliseconds()
	for time.Now().Before(deadline) && p.proc.Watermark() < lastTS-5_000 {
		if err := sleep(ctx, pollEvery); err != nil {
			return res, err
		}
	}
	if err := sleep(ctx, 2*time.Second); err != nil {
		return res, err
	}
	stopSampling()
	wg.Wait()
	if vis.err != nil {
		return res, vis.err
	}

	mu := &prod.mu
	mu.Lock()
	defer mu.Unlock()
	for _, a := range acks { // the live events only
		at, ok := vis.visibleAt(a)
		if !ok {
			res.unmatched++
			continue
		}
		res.ingest = append(res.ingest, max(at.Sub(a.produced), 0))
	}
	for _, f := range p.pub.since(flagsBefore) {
		crossed, ok := wms.reached(f.detectedAt)
		if !ok {
			res.flagsMissed++
			continue
		}
		if f.detectedAt < liveFrom {
			res.catchUp = append(res.catchUp, max(f.at.Sub(crossed), 0))
			continue
		}
		res.flags = append(res.flags, max(f.at.Sub(crossed), 0))
		res.flagKinds = append(res.flagKinds, f.kind)
	}
	return res, nil
}

// stored is one poll's answer for one partition: stored up to offset at time at.
type stored struct {
	at     time.Time
	offset int64
}

// visibility records, per topic and partition, when ClickHouse held it up to which offset.
type visibility struct {
	mu   sync.Mutex
	seen map[string][]stored // "topic/partition" → increasing offsets
	err  error
}

func (v *visibility) poll(ctx context.Context, p *pipeline) {
	const q = `SELECT kafka_topic, kafka_partition, max(kafka_offset) FROM viewer_events GROUP BY kafka_topic, kafka_partition
UNION ALL SELECT kafka_topic, kafka_partition, max(kafka_offset) FROM orders GROUP BY kafka_topic, kafka_partition
UNION ALL SELECT kafka_topic, kafka_partition, max(kafka_offset) FROM refunds GROUP BY kafka_topic, kafka_partition`
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		raw, err := p.st.Backend().Query(ctx, q, "TabSeparated")
		at := time.Now()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			v.err = fmt.Errorf("cannot poll stored offsets: %w", err)
			return
		}
		v.mu.Lock()
		for line := range strings.SplitSeq(strings.TrimSpace(string(raw)), "\n") {
			c := strings.Split(line, "\t")
			if len(c) != 3 {
				continue
			}
			off, err := strconv.ParseInt(c[2], 10, 64)
			if err != nil {
				continue
			}
			k := c[0] + "/" + c[1]
			if s := v.seen[k]; len(s) == 0 || s[len(s)-1].offset < off {
				v.seen[k] = append(s, stored{at: at, offset: off})
			}
		}
		v.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// visibleAt returns the first poll at which a's partition was stored up to a's offset.
func (v *visibility) visibleAt(a ack) (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.seen[a.topic+"/"+strconv.Itoa(int(a.partition))]
	i, _ := slices.BinarySearchFunc(s, a.offset, func(e stored, off int64) int { return cmp.Compare(e.offset, off) })
	if i == len(s) {
		return time.Time{}, false
	}
	return s[i].at, true
}

// covers reports whether every partition is visible up to its end.
func (v *visibility) covers(ends map[string][]int64) bool {
	for topic, e := range ends {
		for part, end := range e {
			if end == 0 {
				continue
			}
			if _, ok := v.visibleAt(ack{topic: topic, partition: int32(part), offset: end - 1}); !ok {
				return false
			}
		}
	}
	return true
}

// watermarks samples the combined watermark, keeping each rise.
type watermarks struct {
	samples []stored // offset holds the watermark
}

func (w *watermarks) sample(ctx context.Context, p *pipeline) {
	last := int64(math.MinInt64)
	for ctx.Err() == nil {
		if wm := p.proc.Watermark(); wm > last {
			w.samples = append(w.samples, stored{at: time.Now(), offset: wm})
			last = wm
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reached returns when the watermark first reached ts, if it did after sampling began.
func (w *watermarks) reached(ts int64) (time.Time, bool) {
	i, _ := slices.BinarySearchFunc(w.samples, ts, func(e stored, t int64) int { return cmp.Compare(e.offset, t) })
	if i == 0 || i == len(w.samples) {
		return time.Time{}, false // never, or before sampling began (unknown when)
	}
	return w.samples[i].at, true
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
