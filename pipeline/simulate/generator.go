package simulate

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

// Message is one generated Kafka message.
type Message struct {
	Kind  schemas.Kind // selects the topic
	Key   []byte       // stream_id, the partitioning key
	Value []byte       // the JSON event (or, when Bad, a malformed one)
	TS    int64        // event time, Unix milliseconds
	Bad   bool         // Value deliberately breaks the contract (Config.BadFraction)

	info messageInfo // what Stats needs to count the message without decoding it
}

// messageInfo is the bookkeeping behind Stats; Produce carries it along to count acknowledgements.
type messageInfo struct {
	action    schemas.Action
	amount    schemas.Money  // orders and refunds
	newStream bool           // first good message of its stream
	newViewer bool           // first join of its viewer
	late      bool           // event time before that of an earlier message
	badReason schemas.Reason // why a Bad message fails to decode
}

// Generator produces the messages of a Config in (almost) event-time order. It is not safe for
// concurrent use.
type Generator struct {
	cfg   Config
	rng   *rand.Rand
	srng  *rand.Rand // the scenarios' own sequence, so they leave rng's to the background
	curve *curve
	tag   string // the seed in decimal, in event, session, order and refund ids

	start, end int64 // event-time bounds, Unix ms
	now        int64 // time of the step being run

	q      queue
	seq    uint64
	firing bool // the step being run still occupies the top of q

	kols             []*kol
	idleKOLs         []int
	popularityNorm   float64 // total popularity of the streams live at Start
	warmAudience     float64 // viewers watching at Start, across all streams
	eventsPerSession float64
	population       uint32
	viewerDigits     int
	seen, active     bitset

	streamSeq, sessionSeq, orderSeq, refundSeq uint64
	eventSeq                                   [schemas.KindRefund + 1]uint64
	eventPrefix                                [schemas.KindRefund + 1]string

	// The event being delivered, filled by an actor's step.
	ev            schemas.Event
	evStream      *stream
	evNewViewer   bool
	pendingRefund *refund // the refund of the order in ev, scheduled only if the order is good

	badOwed int   // malformed messages due, waiting for a message that may be replaced
	maxTS   int64 // latest event time delivered, to spot late deliveries
	stats   Stats
	scratch []byte

	episodes []*episode      // the scenarios, in the order of Scenarios
	extraIDs map[uint64]bool // viewer numbers of scenario accounts, outside the population
}

// pcgStream fixes PCG's second word so that Seed alone selects the sequence; scenarioStream
// does for the scenarios' sequence.
const (
	pcgStream      = 0x6c69766570756c73 // "livepuls"
	scenarioStream = 0x7363656e6172696f // "scenario"
)

// NewGenerator returns a generator for cfg with defaults filled in. The streams already live at
// Start come with the viewers they would have by then; those viewers announce themselves with a
// join within the first heartbeat interval, so every session the pipeline sees has a join.
// It panics on an unknown name in cfg.Scenarios (ParseScenarios checks them).
func NewGenerator(cfg Config) *Generator {
	cfg = cfg.withDefaults()
	g := &Generator{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(uint64(cfg.Seed), pcgStream)),
		srng:    rand.New(rand.NewPCG(uint64(cfg.Seed), scenarioStream)),
		curve:   newCurve(cfg.Location),
		tag:     strconv.FormatInt(cfg.Seed, 10),
		start:   cfg.Start.UnixMilli(),
		scratch: make([]byte, 0, 64),
	}
	g.end = g.start + cfg.Duration.Milliseconds()
	g.now = g.start
	g.maxTS = g.start
	for _, k := range schemas.Kinds {
		g.eventPrefix[k] = g.tag + "-" + k.String() + "-"
	}
	g.eventsPerSession = expectedEventsPerSession()
	g.population = viewerPopulation(cfg, g.eventsPerSession)
	g.viewerDigits = max(7, len(strconv.FormatUint(uint64(g.population-1), 10)))
	g.seen, g.active = newBitset(g.population), newBitset(g.population)

	g.kols = newKOLs(g.rng, cfg.Streams)
	g.idleKOLs = make([]int, len(g.kols))
	for i := range g.kols {
		g.idleKOLs[i] = i
	}
	// Popularity is heavy-tailed, so which KOLs happen to be on air swings the total a lot:
	// normalize by the streams live at Start so that the run starts at Rate × level.
	warm := make([]*stream, cfg.Streams)
	for slot := range warm {
		warm[slot] = g.newStream(slot)
		g.popularityNorm += warm[slot].popularity
	}
	g.warmAudience = g.audienceAt(g.start)
	for _, s := range warm {
		s.share = s.popularity / g.popularityNorm
		g.startWarmStream(s)
	}
	g.planScenarios(warm)
	return g
}

// viewerPopulation sizes the pool viewer_ids are drawn from: large enough that the peak audience
// is a small part of it (no viewer needs to watch two streams at once), small enough that over a
// long run viewers come back.
func viewerPopulation(cfg Config, eventsPerSession float64) uint32 {
	sessionsPerSec := cfg.Rate / eventsPerSession
	peakAudience := sessionsPerSec * maxCurveLevel * meanDwellSeconds()
	sessions := sessionsPerSec * cfg.Duration.Seconds()
	p := max(4*peakAudience, sessions/2, 10_000)
	return uint32(min(p, 1<<28))
}

// audienceAt is how many viewers are watching at Unix ms t across all streams: everyone who
// arrived u seconds earlier, at the curve's rate then, and is still there (dwell survival).
func (g *Generator) audienceAt(t int64) float64 {
	const step = 10.0 // seconds
	sum := 0.0
	for u := step / 2; u < maxDwellMS/1000; u += step {
		sum += g.curve.level(t-int64(u*1000)) * dwellSurvival(u) * step
	}
	return g.cfg.Rate / g.eventsPerSession * sum
}

// Next fills m with the next message, reusing m's buffers, and reports false when the run's
// Duration is exhausted. Messages come in non-decreasing event time except the late deliveries
// of Config.Disorder, at most 3 s behind.
func (g *Generator) Next(m *Message) bool {
	for len(g.q) > 0 {
		top := g.q[0]
		if top.at > g.end {
			break
		}
		g.now = top.at
		g.firing = true
		g.evStream, g.evNewViewer, g.pendingRefund = nil, false, nil
		deliver := top.a.step(g, top.at)
		if g.firing {
			g.firing = false
			g.q.dropTop()
		}
		if deliver {
			g.deliver(m)
			return true
		}
	}
	g.q = nil // the run is over: let the actors go
	return false
}

// Stats returns the counts of everything delivered so far.
func (g *Generator) Stats() Stats { return g.stats }

// CurveLevel is the traffic level at t in the generator's Location (see the CurveLevel function).
func (g *Generator) CurveLevel(t time.Time) float64 { return CurveLevel(t.In(g.cfg.Location)) }

// schedule makes a run step at event time at (never before the step being run). Steps after the
// end of the run are dropped, which keeps refunds due after it from taking memory.
func (g *Generator) schedule(a actor, at int64) {
	if at > g.end {
		return
	}
	s := scheduled{at: max(at, g.now), seq: g.seq, a: a}
	g.seq++
	if g.firing {
		g.firing = false
		g.q.replaceTop(s)
		return
	}
	g.q.push(s)
}

// deliver numbers, encodes (or spoils) and counts the event an actor left in g.ev.
func (g *Generator) deliver(m *Message) {
	ev := &g.ev
	h := ev.Header()
	g.eventSeq[ev.Kind]++
	g.scratch = strconv.AppendUint(append(g.scratch[:0], g.eventPrefix[ev.Kind]...), g.eventSeq[ev.Kind], 10)
	h.EventID = string(g.scratch)

	m.Kind, m.TS = ev.Kind, h.TS
	m.Key = append(m.Key[:0], h.StreamID...)
	m.info = messageInfo{late: h.TS < g.maxTS}
	g.maxTS = max(g.maxTS, h.TS)
	if m.Bad = g.spoil(ev); m.Bad {
		m.Value, m.info.badReason = g.appendBad(m.Value[:0], ev)
	} else {
		m.Value = ev.AppendJSON(m.Value[:0])
		switch ev.Kind {
		case schemas.KindViewer:
			m.info.action = ev.Viewer.Action
			m.info.newViewer = g.evNewViewer
		case schemas.KindOrder:
			m.info.amount = ev.Order.Amount
			if g.pendingRefund != nil {
				g.schedule(g.pendingRefund, g.pendingRefund.at)
			}
		case schemas.KindRefund:
			m.info.amount = ev.Refund.Amount
		}
		if s := g.evStream; s != nil && !s.seen {
			s.seen = true
			m.info.newStream = true
		}
	}
	g.stats.add(m)
}

// spoil decides whether this message is replaced by a malformed one. Joins are never replaced
// (every session keeps its join); a spoil that lands on one waits for the next message.
func (g *Generator) spoil(ev *schemas.Event) bool {
	if g.cfg.BadFraction == 0 {
		return false
	}
	if g.rng.Float64() < g.cfg.BadFraction {
		g.badOwed++
	}
	if g.badOwed == 0 || (ev.Kind == schemas.KindViewer && ev.Viewer.Action == schemas.ActionJoin) {
		return false
	}
	g.badOwed--
	return true
}

// arrivalsPerMS is the rate at which viewers join stream s at event time at: the stream's share
// of Rate at the curve's level, divided by the events one session produces.
func (g *Generator) arrivalsPerMS(s *stream, at int64) float64 {
	return g.cfg.Rate * g.curve.level(at) * s.share / g.eventsPerSession / 1000
}

// poisson draws a Poisson count with the given mean (normal approximation above 30).
func poisson(r *rand.Rand, mean float64) int {
	if mean > 30 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	limit, n, p := math.Exp(-mean), 0, r.Float64()
	for p > limit {
		n++
		p *= r.Float64()
	}
	return n
}

// uniformMS draws a duration in [lo, hi] milliseconds.
func uniformMS(r *rand.Rand, lo, hi int64) int64 { return lo + r.Int64N(hi-lo+1) }
