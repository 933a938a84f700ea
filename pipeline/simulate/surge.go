package simulate

import (
	"math"

	"github.com/livepulse/livepulse/schemas"
)

// The legitimate surges on one stream. Their viewers are honest sessions (the session actor:
// viewers of the population, their own devices and addresses, jittered heartbeats, natural
// engagement, dwell and buying); the surge actors only bring them in, drawing from srng.

const (
	// celebrityMultiplier is the audience while a celebrity guest is on: twice the usual
	// arrivals come on top, and at the onset twice the current audience rushes in within
	// celebrityRushMS. Fans still watching at the end leave within celebrityLeaveMS.
	celebrityMultiplier = 3
	celebrityRushMS     = 60_000
	celebrityLeaveMS    = 60_000

	// A flash sale brings in 30–60 % of the stream's audience as buyers (40 to 5000), who join
	// within the first minutes (exponential, a quarter of the sale on average) and order 5–45 s
	// after joining; flashShare of the orders on the stream during the sale are of the flash
	// item, at 40–70 % off.
	flashMinBuyers, flashMaxBuyers = 40, 5_000
	flashMinFraction               = 0.3
	flashMaxFraction               = 0.6
	flashShare                     = 0.85
	flashMinOrderMS                = 5_000
	flashMaxOrderMS                = 45_000
	flashLastJoinMS                = 25_000 // buyers join at least this long before the end
)

// celebrity is surge_celebrity: a guest who brings fans to one stream.
type celebrity struct {
	ep       *episode
	started  bool
	clock    float64 // exact time of the next arrival step, Unix ms
	arriving bool
}

// step implements actor.
func (c *celebrity) step(g *Generator, at int64) bool {
	s, r := c.ep.s, g.srng
	if !c.started {
		c.started = true
		rush := (celebrityMultiplier - 1) * s.concurrent
		for range rush {
			join := min(at+r.Int64N(celebrityRushMS), c.ep.end-1)
			g.newSession(s, join, c.fanDwell(g, join, residualDwellMS(r)))
		}
		c.clock = float64(at)
		c.scheduleArrival(g)
		return false
	}
	if c.arriving {
		g.newSession(s, at, c.fanDwell(g, at, dwellMS(r)))
	}
	c.scheduleArrival(g)
	return false
}

// fanDwell cuts a fan's dwell at the guest's departure, give or take a minute.
func (c *celebrity) fanDwell(g *Generator, join, dwell int64) int64 {
	leaveBy := c.ep.end + g.srng.Int64N(celebrityLeaveMS)
	return max(min(dwell, leaveBy-join), minDwellMS)
}

// scheduleArrival draws the next fan, at twice the stream's own arrival rate, as
// stream.scheduleArrival does; no fan comes after the end.
func (c *celebrity) scheduleArrival(g *Generator) {
	rate := (celebrityMultiplier - 1) * g.arrivalsPerMS(c.ep.s, int64(c.clock))
	gap := g.srng.ExpFloat64() / rate
	c.arriving = gap <= arrivalWakeMS
	c.clock += min(gap, arrivalWakeMS)
	at := int64(math.Ceil(c.clock))
	if at >= c.ep.end {
		return
	}
	g.schedule(c, at)
}

// flashSale is surge_flash_sale: a limited-time deal that brings buyers to one stream.
type flashSale struct {
	ep     *episode
	buyers int
	sku    string
	price  schemas.Money
}

func (g *Generator) newFlashSale(ep *episode) *flashSale {
	r, s := g.srng, ep.s
	f := &flashSale{ep: ep}
	frac := flashMinFraction + (flashMaxFraction-flashMinFraction)*r.Float64()
	f.buyers = min(max(int(math.Round(g.expectedAudience(s, ep.onset)*frac)), flashMinBuyers), flashMaxBuyers)
	f.sku = skuID(r, s.brand)
	off := 0.4 + 0.3*r.Float64()
	yuan := math.Floor(float64(unitPrice(r, s.plat)) / 100 * (1 - off))
	f.price = max(schemas.Money(yuan)*100-10, minPrice) // 59.90
	ep.flash, ep.actor = f, f
	return f
}

// step implements actor: the buyers come.
func (f *flashSale) step(g *Generator, at int64) bool {
	r, ep := g.srng, f.ep
	length := ep.end - ep.onset
	lastJoin := max(length-flashLastJoinMS, 0)
	for range f.buyers {
		join := at + min(int64(float64(length)/4*r.ExpFloat64()), lastJoin)
		order := min(join+flashMinOrderMS+r.Int64N(flashMaxOrderMS-flashMinOrderMS+1), ep.end-1)
		ss := g.newSession(ep.s, join, order-join+dwellMS(r))
		ss.buysLeft, ss.nextOrder = 1, order
	}
	return false
}

// flashItem is the item and unit price of an order placed at on a flash sale's stream.
func (g *Generator) flashItem(f *flashSale, at int64, sku string, unit schemas.Money) (string, schemas.Money) {
	if f.ep.active(at) && g.srng.Float64() < flashShare {
		return f.sku, f.price
	}
	return sku, unit
}
