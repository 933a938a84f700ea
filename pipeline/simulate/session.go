package simulate

import (
	"math"
	"math/rand/v2"

	"github.com/livepulse/livepulse/schemas"
)

const (
	// Clients heartbeat every 20–30 s while the stream is on screen.
	beatMinMS    = 20_000
	beatJitterMS = 10_000
	// Dwell is heavy-tailed: half leave within 100 s, one in 200 stays over an hour.
	dwellMedianS = 100
	dwellSigma   = 1.4
	minDwellMS   = 3_000
	maxDwellMS   = 6 * 60 * 60_000
	// silentFraction of sessions end without a leave (app killed, phone locked): the pipeline
	// has to time them out.
	silentFraction = 0.03
	// engagerFraction of viewers like, comment, share or follow; each at their own pace, a
	// log-normal mean gap around two minutes.
	engagerFraction   = 0.55
	engageGapMedianMS = 120_000
	engageGapSigma    = 1.0
	// Viewers who watched at least buyMinWatchMS buy with probability buyProbability (times
	// the platform's conversion), about 3.5 % of all viewers; some buy again.
	buyMinWatchMS        = 90_000
	buyProbability       = 0.06
	repeatBuyProbability = 0.15
	repeatBuyMinGapMS    = 30_000
	// mobileFraction of sessions come over mobile data (carrier NAT addresses).
	mobileFraction = 0.3
	// The audience of a stream already live at Start joins within one heartbeat interval.
	warmJoinSpreadMS = beatMinMS + beatJitterMS/2
	// Viewers of a stream that ends drop out within seconds.
	endLeaveJitterMS = 15_000
	// Late deliveries arrive 0.1–3 s after their event time.
	lateMinMS = 100
	lateMaxMS = 3_000
	// During the midnight rush (curve level above rushLevel) shoppers who came for the sale buy
	// fast and more often.
	rushLevel         = 2.0
	rushBuyMultiplier = 1.3
	rushMinWatchMS    = 30_000
	// Refunds are either quick cancellations before shipping (2 min + ~6 min, a live-commerce
	// staple) or returns after delivery (log-normal around 3 hours, up to 2 days).
	quickRefundShare  = 0.4
	minRefundMS       = 2 * 60_000
	quickRefundMeanMS = 6 * 60_000
	laterRefundMedian = 3 * 60 * 60_000
	laterRefundSigma  = 0.8
	maxRefundMS       = 48 * 60 * 60_000
	fullRefundShare   = 0.75
)

const never = math.MaxInt64

// sessionStep is what a session does at its next scheduled time.
type sessionStep uint8

const (
	stepJoin sessionStep = iota
	stepBeat
	stepEngage
	stepOrder
	stepLeave
)

// session is one viewer watching one stream, from join to leave (or silence).
type session struct {
	s         *stream
	viewer    uint32
	seq       uint64 // session number, for the id and the address
	viewerID  string
	sessionID string
	leaveAt   int64
	nextBeat  int64
	nextEng   int64
	nextOrder int64
	engageGap float64 // mean ms between engages
	due       sessionStep
	silent    bool
	buysLeft  uint8
}

// newSession brings a viewer to stream s at joinAt for dwell ms (cut short by the stream's end).
func (g *Generator) newSession(s *stream, joinAt, dwell int64) *session {
	g.sessionSeq++
	ss := &session{s: s, viewer: g.pickViewer(), seq: g.sessionSeq, nextEng: never, nextOrder: never}
	b := append(g.scratch[:0], "v-"...)
	ss.viewerID = string(appendPadded(b, uint64(ss.viewer), g.viewerDigits))
	b = append(append(g.scratch[:0], "ss-"...), g.tag...)
	ss.sessionID = string(appendPadded(append(b, '-'), ss.seq, 1))

	ss.leaveAt = joinAt + dwell
	if ss.leaveAt > s.end {
		ss.leaveAt = s.end + g.rng.Int64N(endLeaveJitterMS)
	}
	ss.silent = g.rng.Float64() < silentFraction
	ss.nextBeat = joinAt + beatMinMS + g.rng.Int64N(beatJitterMS+1)
	if g.rng.Float64() < engagerFraction {
		ss.engageGap = lognormal(g.rng, engageGapMedianMS, engageGapSigma)
		ss.nextEng = joinAt + 1 + int64(ss.engageGap*g.rng.ExpFloat64())
	}
	minWatch, buy := int64(buyMinWatchMS), buyProbability*s.plat.conversion
	if g.curve.level(joinAt) > rushLevel {
		minWatch, buy = rushMinWatchMS, buy*rushBuyMultiplier
	}
	if watch := ss.leaveAt - joinAt; watch >= minWatch && g.rng.Float64() < buy {
		ss.buysLeft = 1
		if g.rng.Float64() < repeatBuyProbability {
			ss.buysLeft = 2
		}
		ss.nextOrder = joinAt + minWatch*2/3 + g.rng.Int64N(watch-minWatch*2/3)
	}
	ss.due = stepJoin
	g.schedule(ss, joinAt)
	return ss
}

// pickViewer draws a viewer who is not watching anything right now (after a few tries it
// accepts anyone: a tiny population would otherwise loop).
func (g *Generator) pickViewer() uint32 {
	v := g.rng.Uint32N(g.population)
	for try := 0; try < 8 && g.active.has(v); try++ {
		v = g.rng.Uint32N(g.population)
	}
	g.active.set(v)
	return v
}

// step implements actor.
func (ss *session) step(g *Generator, at int64) bool {
	s := ss.s
	deliver := true
	switch ss.due {
	case stepJoin:
		s.concurrent++
		g.evNewViewer = g.seen.set(ss.viewer)
		g.viewerEvent(ss, at, schemas.ActionJoin, schemas.EngageNone)
		dev := deviceID(g.scratch[:0], ss.viewer)
		g.ev.Viewer.DeviceID = string(dev)
		g.ev.Viewer.IP = string(viewerIP(dev[:0], ss.viewer, ss.seq, g.rng.Float64() < mobileFraction))
	case stepBeat:
		ss.nextBeat = at + beatMinMS + g.rng.Int64N(beatJitterMS+1)
		g.viewerEvent(ss, at, schemas.ActionHeartbeat, schemas.EngageNone)
		deliver = !g.deferLate(at)
	case stepEngage:
		ss.nextEng = at + 1 + int64(ss.engageGap*g.rng.ExpFloat64())
		g.viewerEvent(ss, at, schemas.ActionEngage, pick(g.rng, engageKinds))
		deliver = !g.deferLate(at)
	case stepOrder:
		g.placeOrder(ss, at)
		ss.buysLeft--
		ss.nextOrder = never
		if left := ss.leaveAt - at; ss.buysLeft > 0 && left > repeatBuyMinGapMS {
			ss.nextOrder = at + repeatBuyMinGapMS + g.rng.Int64N(left-repeatBuyMinGapMS)
		}
	case stepLeave:
		s.concurrent--
		g.active.clear(ss.viewer)
		if ss.silent {
			return false
		}
		g.viewerEvent(ss, at, schemas.ActionLeave, schemas.EngageNone)
		return true
	}
	ss.scheduleNext(g)
	return deliver
}

// scheduleNext schedules the session's earliest pending action; the leave comes last on ties.
func (ss *session) scheduleNext(g *Generator) {
	at, due := ss.leaveAt, stepLeave
	if ss.nextEng <= at {
		at, due = ss.nextEng, stepEngage
	}
	if ss.nextBeat <= at {
		at, due = ss.nextBeat, stepBeat
	}
	if ss.nextOrder <= at {
		at, due = ss.nextOrder, stepOrder
	}
	ss.due = due
	g.schedule(ss, at)
}

// viewerEvent fills g.ev with a viewer action of ss.
func (g *Generator) viewerEvent(ss *session, at int64, a schemas.Action, k schemas.EngageKind) {
	g.ev.Kind = schemas.KindViewer
	g.ev.Viewer = schemas.Viewer{Header: ss.s.header(at), Action: a, ViewerID: ss.viewerID, SessionID: ss.sessionID, Kind: k}
	g.evStream = ss.s
}

// deferLate holds back the viewer event in g.ev for a late delivery, for a Config.Disorder
// fraction of events, and reports whether it did.
func (g *Generator) deferLate(at int64) bool {
	if g.cfg.Disorder == 0 || g.rng.Float64() >= g.cfg.Disorder {
		return false
	}
	g.schedule(&lateDelivery{v: g.ev.Viewer, s: g.evStream}, at+lateMinMS+g.rng.Int64N(lateMaxMS-lateMinMS+1))
	return true
}

// placeOrder fills g.ev with an order by ss's viewer, and draws whether and when it is refunded.
func (g *Generator) placeOrder(ss *session, at int64) {
	s := ss.s
	unit, qty := unitPrice(g.rng, s.plat), quantity(g.rng)
	id := g.nextOrderID()
	sku := skuID(g.rng, s.brand)
	if ep := s.ep; ep != nil && ep.flash != nil {
		sku, unit = g.flashItem(ep.flash, at, sku, unit) // surge_flash_sale
	}
	o := schemas.Order{
		Header:   s.header(at),
		OrderID:  id,
		BuyerID:  ss.viewerID,
		SKUID:    sku,
		Quantity: qty,
		Amount:   unit * schemas.Money(qty),
		Currency: g.cfg.Currency,
	}
	g.ev.Kind, g.ev.Order, g.evStream = schemas.KindOrder, o, s
	g.pendingRefund = g.drawRefund(s, &o, unit, at)
	if ep := s.ep; ep != nil && ep.refundRate > 0 && ep.active(at) {
		g.pendingRefund = g.spikeRefund(ep, &o, at) // refund_spike
	}
}

// nextOrderID numbers a new order.
func (g *Generator) nextOrderID() string {
	b := append(append(g.scratch[:0], "o-"...), g.tag...)
	g.orderSeq++
	return string(appendPadded(append(b, '-'), g.orderSeq, 1))
}

// drawRefund draws whether and when order o, of items at unit each, is refunded.
func (g *Generator) drawRefund(s *stream, o *schemas.Order, unit schemas.Money, at int64) *refund {
	if g.rng.Float64() >= s.plat.refundRate {
		return nil
	}
	r := &refund{s: s, orderID: o.OrderID, buyerID: o.BuyerID, amount: o.Amount}
	if g.rng.Float64() < quickRefundShare {
		r.at = at + minRefundMS + int64(quickRefundMeanMS*g.rng.ExpFloat64())
		r.reason = pick(g.rng, quickRefundReasons)
		return r
	}
	r.at = at + clampMS(lognormal(g.rng, laterRefundMedian, laterRefundSigma), minRefundMS, maxRefundMS)
	r.reason = pick(g.rng, refundReasons)
	if g.rng.Float64() >= fullRefundShare {
		r.reason = pick(g.rng, partialReasons)
		if qty := o.Quantity; qty > 1 {
			r.amount = unit * schemas.Money(1+g.rng.IntN(int(qty)-1)) // some of the items
		} else {
			r.amount = min(max(schemas.Money(float64(o.Amount)*(0.1+0.8*g.rng.Float64())), 1), o.Amount)
		}
	}
	return r
}

// meanDwellSeconds is the mean of the dwell distribution (a log-normal's mean is median·e^(σ²/2)).
func meanDwellSeconds() float64 { return dwellMedianS * math.Exp(dwellSigma*dwellSigma/2) }

// dwellSurvival is the probability that a viewer is still watching sec seconds after joining.
func dwellSurvival(sec float64) float64 {
	if sec < minDwellMS/1000 {
		return 1
	}
	return math.Erfc(math.Log(sec/dwellMedianS)/(dwellSigma*math.Sqrt2)) / 2
}

// dwellMS draws how long a new viewer stays.
func dwellMS(r *rand.Rand) int64 {
	return clampMS(lognormal(r, dwellMedianS*1000, dwellSigma), minDwellMS, maxDwellMS)
}

// residualDwellMS draws how much longer a viewer already watching stays: a uniform point in a
// length-biased dwell (for a log-normal, the median times e^(σ²)).
func residualDwellMS(r *rand.Rand) int64 {
	total := lognormal(r, dwellMedianS*1000*math.Exp(dwellSigma*dwellSigma), dwellSigma)
	return clampMS(total*r.Float64(), minDwellMS, maxDwellMS)
}

// expectedEventsPerSession is how many events a session produces on average, which turns the
// target event rate into a viewer arrival rate.
func expectedEventsPerSession() float64 {
	dwell := meanDwellSeconds()
	beats := dwell / ((beatMinMS + beatJitterMS/2) / 1000.0)
	engages := engagerFraction * dwell * math.Exp(engageGapSigma*engageGapSigma/2) / (engageGapMedianMS / 1000.0)
	const orders = 0.04
	return 1 + (1 - silentFraction) + beats + engages + orders
}
