package simulate

import (
	"math"

	"github.com/livepulse/livepulse/schemas"
)

const (
	// Streams last minutes to hours: log-normal around 90 minutes.
	streamMedianMS = 90 * 60_000
	streamSigma    = 0.7
	minStreamMS    = 10 * 60_000
	maxStreamMS    = 8 * 60 * 60_000
	// A slot stays dark 1–10 minutes between streams.
	minStreamGapMS  = 60_000
	meanStreamGapMS = 3 * 60_000
	// streamNoiseSigma spreads one KOL's streams around the KOL's popularity.
	streamNoiseSigma = 0.3
	// Displayed counts refresh every 4.5–5.5 s, with ±1 % of platform noise.
	countEveryMS  = 4_500
	countJitterMS = 1_000
	countNoise    = 0.01
	// arrivalWakeMS bounds the wait for the next viewer so a quiet stream notices the midnight
	// surge within seconds (exact for a piecewise-constant rate: exponential gaps are memoryless).
	arrivalWakeMS = 5_000
)

type streamPhase uint8

const (
	phasePending streamPhase = iota // scheduled, not yet live
	phaseLive
	phaseEnded
)

// stream is one live broadcast. As an actor it brings viewers in (a Poisson process at the
// curve's rate), and at its end hands its slot to the next stream.
type stream struct {
	slot       int
	id         string
	kol        *kol
	plat       *platform
	brand      int
	brandID    string
	popularity float64 // the KOL's popularity, give or take
	share      float64 // fraction of Config.Rate this stream gets at curve level 1
	factor     float64 // displayed ÷ real concurrent viewers
	end        int64
	phase      streamPhase
	seen       bool    // has delivered a good message (Stats.Streams)
	clock      float64 // exact time of the next arrival step, Unix ms
	arriving   bool    // the next step brings a viewer (rather than only re-reading the rate)

	concurrent int // sessions joined and not yet gone
	ticker     countTicker
	ep         *episode // the scenario played on this stream, if any
}

// header returns the fields the stream's events share.
func (s *stream) header(at int64) schemas.Header {
	return schemas.Header{TS: at, StreamID: s.id, KOLID: s.kol.id, BrandID: s.brandID, Platform: s.plat.name}
}

// newStream creates the next stream of a slot with an idle KOL.
func (g *Generator) newStream(slot int) *stream {
	k := g.takeKOL()
	s := &stream{slot: slot, kol: k, plat: k.plat, brand: k.brand}
	s.id = string(appendPadded(append(g.scratch[:0], "s-"...), g.streamSeq, 6))
	g.streamSeq++
	if g.rng.Float64() >= mainBrandLoyalty {
		s.brand = g.rng.IntN(numBrands)
	}
	s.brandID = brandIDs[s.brand]
	noise := lognormal(g.rng, math.Exp(-streamNoiseSigma*streamNoiseSigma/2), streamNoiseSigma) // mean 1
	s.popularity = k.popularity * noise
	if g.popularityNorm > 0 { // zero while the streams live at Start are being drawn
		s.share = s.popularity / g.popularityNorm
	}
	s.factor = s.plat.factorMin + g.rng.Float64()*(s.plat.factorMax-s.plat.factorMin)
	s.ticker.s = s
	return s
}

// startWarmStream puts a stream on air that has been live for a while at Start, with the
// audience it would have by then.
func (g *Generator) startWarmStream(s *stream) {
	// A stream live at a given instant is a length-biased draw, and the instant falls uniformly
	// within it; for a log-normal, length-biasing multiplies the median by e^(σ²).
	total := clampMS(lognormal(g.rng, streamMedianMS*math.Exp(streamSigma*streamSigma), streamSigma), minStreamMS, maxStreamMS)
	remaining := max(int64(float64(total)*g.rng.Float64()), 60_000)
	s.end = g.start + remaining
	s.phase = phaseLive
	s.clock = float64(g.start)
	g.schedule(s, g.start)
	g.schedule(&s.ticker, g.start+g.rng.Int64N(countEveryMS))
	audience := poisson(g.rng, g.warmAudience*s.share)
	for range audience {
		join := g.start + g.rng.Int64N(warmJoinSpreadMS)
		g.newSession(s, join, residualDwellMS(g.rng))
	}
}

// step implements actor.
func (s *stream) step(g *Generator, at int64) bool {
	switch {
	case s.phase == phasePending:
		s.phase = phaseLive
		s.clock = float64(at)
		g.schedule(&s.ticker, at+g.rng.Int64N(countEveryMS))
		s.scheduleArrival(g)
	case at >= s.end:
		s.phase = phaseEnded
		g.releaseKOL(s.kol)
		next := g.newStream(s.slot)
		gap := minStreamGapMS + int64(meanStreamGapMS*g.rng.ExpFloat64())
		dur := clampMS(lognormal(g.rng, streamMedianMS, streamSigma), minStreamMS, maxStreamMS)
		next.end = at + gap + dur
		g.schedule(next, at+gap)
	default:
		if s.arriving {
			g.newSession(s, at, dwellMS(g.rng))
		}
		s.scheduleArrival(g)
	}
	return false
}

// scheduleArrival draws the next viewer arrival, or a wake-up to re-read a low rate.
func (s *stream) scheduleArrival(g *Generator) {
	gap := g.rng.ExpFloat64() / g.arrivalsPerMS(s, int64(s.clock))
	s.arriving = gap <= arrivalWakeMS
	s.clock += min(gap, arrivalWakeMS)
	at := int64(math.Ceil(s.clock))
	if at >= s.end {
		at, s.arriving = s.end, false
	}
	g.schedule(s, at)
}

// countTicker emits the stream's displayed concurrent-viewer count: honest, its real audience
// times the platform's mild rounding-up.
type countTicker struct{ s *stream }

// step implements actor.
func (t *countTicker) step(g *Generator, at int64) bool {
	s := t.s
	if s.phase != phaseLive || at >= s.end {
		return false
	}
	factor := s.factor
	if ep := s.ep; ep != nil && ep.inflation > 0 && ep.active(at) {
		factor = ep.inflation // viewer_inflation_count
	}
	shown := float64(s.concurrent) * factor * (1 + countNoise*g.rng.NormFloat64())
	g.ev.Kind = schemas.KindViewer
	g.ev.Viewer = schemas.Viewer{Header: s.header(at), Action: schemas.ActionCount, ReportedViewers: uint64(max(math.Round(shown), 0))}
	g.evStream = s
	g.schedule(t, at+countEveryMS+g.rng.Int64N(countJitterMS+1))
	return true
}

// takeKOL picks a KOL who is not on air.
func (g *Generator) takeKOL() *kol {
	i := g.rng.IntN(len(g.idleKOLs))
	k := g.idleKOLs[i]
	g.idleKOLs[i] = g.idleKOLs[len(g.idleKOLs)-1]
	g.idleKOLs = g.idleKOLs[:len(g.idleKOLs)-1]
	return g.kols[k]
}

func (g *Generator) releaseKOL(k *kol) { g.idleKOLs = append(g.idleKOLs, k.index) }

func clampMS(ms float64, lo, hi int64) int64 { return min(max(int64(ms), lo), hi) }
