package simulate

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/livepulse/livepulse/schemas"
)

// The fraud actors. They draw from Generator.srng; the sessions they script are theirs, not
// the honest session actor, so they behave as software does: on a timer, from a few devices.

const (
	// A bot farm: 20–50 phones and 1–3 /24s run thousands of accounts, in waves that each join
	// within 1–2 minutes and stay a fixed dwell (±2 s), so the count stays up.
	botMinDevices, botMaxDevices = 20, 50
	botMaxNets                   = 3
	botMinBurstMS, botMaxBurstMS = 60_000, 120_000
	botTargetDwellMS             = 300_000
	botDwellJitterMS             = 2_000
	botMinPerWave, botMaxPerWave = 1_000, 20_000
	// A bot farm's wave is 3–8 times the stream's real audience (the most expected during the
	// episode).
	botMinMultiple, botMaxMultiple = 3.0, 8.0

	// A brushing ring: 3–8 accounts on 1–3 phones, 30–80 orders an hour (each account at least
	// twice), of one SKU at one price (a quarter of them up to 0.50 off), 50–80 % refunded
	// 3 min to 2 h later (12 min median).
	brushMinAccounts, brushMaxAccounts = 3, 8
	brushMaxDevices                    = 3
	brushMinPerHour, brushMaxPerHour   = 30.0, 80.0
	brushMinPerAccount                 = 2
	brushNearShare                     = 0.25
	brushMinRefund, brushMaxRefund     = 0.5, 0.8
	brushRefundMedianMS                = 12 * 60_000
	brushRefundSigma                   = 0.5
	brushMinRefundMS, brushMaxRefundMS = 3 * 60_000, 2 * 60 * 60_000

	// The quick refunds of a refund spike: half a minute plus ~4 minutes, at most 15.
	spikeMinRefundMS  = 30_000
	spikeMeanRefundMS = 4 * 60_000
	spikeMaxRefundMS  = 15 * 60_000
)

// scriptedSession is a session run by a script: it joins from a given device and address,
// heartbeats on a timer (or not at all), never engages or buys, and leaves on time.
type scriptedSession struct {
	s                   *stream
	viewerID, sessionID string
	deviceID, ip        string
	leaveAt, nextBeat   int64
	beatMin, beatJitter int64 // beatMin 0: no heartbeats; beatJitter 0: machine-regular ones
	due                 sessionStep
	newViewer           bool
}

// newScripted schedules a scripted session of viewerID on s from joinAt to leaveAt.
func (g *Generator) newScripted(s *stream, viewerID, deviceID, ip string, joinAt, leaveAt, beatMin, beatJitter int64, newViewer bool) {
	g.sessionSeq++
	b := append(append(g.scratch[:0], "ss-"...), g.tag...)
	ss := &scriptedSession{s: s, viewerID: viewerID, sessionID: string(appendPadded(append(b, '-'), g.sessionSeq, 1)),
		deviceID: deviceID, ip: ip, leaveAt: leaveAt, nextBeat: never, beatMin: beatMin, beatJitter: beatJitter,
		due: stepJoin, newViewer: newViewer}
	g.schedule(ss, joinAt)
}

// step implements actor.
func (ss *scriptedSession) step(g *Generator, at int64) bool {
	switch ss.due {
	case stepJoin:
		ss.s.concurrent++
		g.evNewViewer = ss.newViewer
		ss.event(g, at, schemas.ActionJoin)
		g.ev.Viewer.DeviceID, g.ev.Viewer.IP = ss.deviceID, ss.ip
		ss.nextBeat = ss.beatAfter(g, at)
	case stepBeat:
		ss.event(g, at, schemas.ActionHeartbeat)
		ss.nextBeat = ss.beatAfter(g, at)
	default: // stepLeave
		ss.s.concurrent--
		ss.event(g, at, schemas.ActionLeave)
		return true
	}
	ss.due = stepLeave
	next := ss.leaveAt
	if ss.nextBeat < ss.leaveAt {
		ss.due, next = stepBeat, ss.nextBeat
	}
	g.schedule(ss, next)
	return true
}

func (ss *scriptedSession) beatAfter(g *Generator, at int64) int64 {
	switch {
	case ss.beatMin == 0:
		return never
	case ss.beatJitter == 0:
		return at + ss.beatMin
	}
	return at + ss.beatMin + g.srng.Int64N(ss.beatJitter+1)
}

func (ss *scriptedSession) event(g *Generator, at int64, a schemas.Action) {
	g.ev.Kind = schemas.KindViewer
	g.ev.Viewer = schemas.Viewer{Header: ss.s.header(at), Action: a, ViewerID: ss.viewerID, SessionID: ss.sessionID}
	g.evStream = ss.s
}

// extraAccount returns the viewer_id of an account outside the honest population (so no
// honest viewer shares it), drawn from above it.
func (g *Generator) extraAccount(need int) string {
	pop := uint64(g.population)
	hi := min(4*pop, uint64(math.Pow10(g.viewerDigits)))
	hi = max(hi, pop+4*uint64(need)+uint64(len(g.extraIDs)))
	if g.extraIDs == nil {
		g.extraIDs = map[uint64]bool{}
	}
	v := pop + g.srng.Uint64N(hi-pop)
	for g.extraIDs[v] {
		v = pop + g.srng.Uint64N(hi-pop)
	}
	g.extraIDs[v] = true
	return string(appendPadded(append(g.scratch[:0], "v-"...), v, g.viewerDigits))
}

// randomDevice is a device id of the usual shape ("dev-3fa9c04e1b22"), drawn from r.
func randomDevice(r *rand.Rand) string {
	const hex = "0123456789abcdef"
	h := r.Uint64()
	b := append(make([]byte, 0, 16), "dev-"...)
	for i := 44; i >= 0; i -= 4 {
		b = append(b, hex[(h>>i)&0xf])
	}
	return string(b)
}

// randomNet is a /24 in the usual address blocks.
func randomNet(r *rand.Rand) [3]byte {
	return [3]byte{homeFirstOctets[r.IntN(len(homeFirstOctets))], byte(r.IntN(256)), byte(r.IntN(256))}
}

// cidr24 writes a /24 as "a.b.c.0/24".
func cidr24(n [3]byte) string {
	b := make([]byte, 0, 18)
	for _, x := range n {
		b = append(strconv.AppendUint(b, uint64(x), 10), '.')
	}
	return string(append(b, "0/24"...))
}

func netIP(n [3]byte, host byte) string {
	b := make([]byte, 0, 15)
	for _, x := range n {
		b = append(strconv.AppendUint(b, uint64(x), 10), '.')
	}
	return string(strconv.AppendUint(b, uint64(max(host, 1)), 10))
}

// botFarm is viewer_inflation_bots: waves of bot sessions on one stream.
type botFarm struct {
	ep       *episode
	accounts []string // the farm's accounts, the same in each wave
	offsets  []int64  // each account's join offset within a wave's burst
	devices  []string
	nets     [][3]byte
	waves    int
	burst    int64
	dwell    int64 // time from a join to the latest leave (leaves come 0–4 s before it)
	beat     int64 // heartbeat period, 0 for none
	wave     int
}

func (g *Generator) newBotFarm(ep *episode) *botFarm {
	r := g.srng
	f := &botFarm{ep: ep}
	length := ep.end - ep.onset
	f.burst = max(min(botMinBurstMS+r.Int64N(botMaxBurstMS-botMinBurstMS+1), length/3), 1)
	f.waves = max(1, int(math.Round(float64(length-f.burst)/botTargetDwellMS)))
	f.dwell = max((length-f.burst-1)/int64(f.waves), 1)
	switch x := r.Float64(); {
	case x < 0.25:
		f.beat = 20_000
	case x < 0.5:
		f.beat = 30_000
	}
	multiple := botMinMultiple + (botMaxMultiple-botMinMultiple)*r.Float64()
	audience := 0.0 // the most the stream is expected to have during the episode
	for t := ep.onset; t < ep.end; t += 60_000 {
		audience = max(audience, g.expectedAudience(ep.s, t))
	}
	n := min(max(int(math.Round(audience*multiple)), botMinPerWave), botMaxPerWave)
	f.devices = make([]string, botMinDevices+r.IntN(botMaxDevices-botMinDevices+1))
	for i := range f.devices {
		f.devices[i] = randomDevice(r)
	}
	f.nets = make([][3]byte, 1+r.IntN(botMaxNets))
	for i := range f.nets {
		f.nets[i] = randomNet(r)
	}
	f.accounts, f.offsets = make([]string, n), make([]int64, n)
	for i := range f.accounts {
		f.accounts[i] = g.extraAccount(n)
		f.offsets[i] = r.Int64N(f.burst)
	}
	ep.actor = f
	return f
}

// step implements actor: one wave joins.
func (f *botFarm) step(g *Generator, at int64) bool {
	s := f.ep.s
	for i, acct := range f.accounts {
		dev := i % len(f.devices)
		ip := netIP(f.nets[dev%len(f.nets)], byte(1+g.srng.IntN(254)))
		join := at + f.offsets[i]
		leave := join + f.dwell - g.srng.Int64N(min(2*botDwellJitterMS, f.dwell-1)+1)
		g.newScripted(s, acct, f.devices[dev], ip, join, leave, f.beat, 0, f.wave == 0)
	}
	f.wave++
	if f.wave < f.waves {
		g.schedule(f, f.ep.onset+int64(f.wave)*f.dwell)
	}
	return false
}

// brushRing is order_brushing: a few accounts on a few phones ordering one item over and over.
type brushRing struct {
	ep          *episode
	accounts    []string
	devices     int
	devIDs      []string
	ips         []string
	net         string // the ips' /24
	sku         string
	price       schemas.Money
	refundShare float64
	times       []int64 // order times, ascending
	buyers      []int   // the account of each order
	next        int
	started     bool
}

func (g *Generator) newBrushRing(ep *episode) *brushRing {
	r, s := g.srng, ep.s
	b := &brushRing{ep: ep}
	b.accounts = make([]string, brushMinAccounts+r.IntN(brushMaxAccounts-brushMinAccounts+1))
	for i := range b.accounts {
		b.accounts[i] = g.extraAccount(len(b.accounts))
	}
	b.devices = 1 + r.IntN(brushMaxDevices)
	net := randomNet(r)
	b.net = cidr24(net)
	for range b.devices {
		b.devIDs = append(b.devIDs, randomDevice(r))
		b.ips = append(b.ips, netIP(net, byte(1+r.IntN(254))))
	}
	b.sku = skuID(r, s.brand)
	b.price = unitPrice(r, s.plat)
	b.refundShare = brushMinRefund + (brushMaxRefund-brushMinRefund)*r.Float64()
	length := ep.end - ep.onset
	perHour := brushMinPerHour + (brushMaxPerHour-brushMinPerHour)*r.Float64()
	n := max(int(math.Round(perHour*float64(length)/3_600_000)), brushMinPerAccount*len(b.accounts))
	lo, hi := ep.onset+brushOrderMargin(length), ep.end-brushOrderMargin(length)
	b.times, b.buyers = make([]int64, n), make([]int, n)
	for i := range b.times {
		b.times[i] = lo + r.Int64N(max(hi-lo, 1))
		b.buyers[i] = i % len(b.accounts) // every account orders a few times
	}
	slices.Sort(b.times)
	r.Shuffle(n, func(i, j int) { b.buyers[i], b.buyers[j] = b.buyers[j], b.buyers[i] })
	ep.actor = b
	return b
}

// brushJoinSpread is how long after the onset the ring's accounts join (and before the end
// they leave); brushOrderMargin keeps orders inside their sessions.
func brushJoinSpread(length int64) int64  { return max(min(45_000, length/5), 1) }
func brushOrderMargin(length int64) int64 { return min(60_000, length/4) + 1 }

// step implements actor: at the onset the accounts join; then one order per step.
func (b *brushRing) step(g *Generator, at int64) bool {
	s, r := b.ep.s, g.srng
	if !b.started {
		b.started = true
		spread := brushJoinSpread(b.ep.end - b.ep.onset)
		for i, acct := range b.accounts {
			dev := i % b.devices
			g.newScripted(s, acct, b.devIDs[dev], b.ips[dev], at+r.Int64N(spread), b.ep.end-1-r.Int64N(spread),
				beatMinMS, beatJitterMS, true)
		}
		g.schedule(b, b.times[0])
		return false
	}
	amount := b.price
	if r.Float64() < brushNearShare {
		amount = max(amount+schemas.Money(r.IntN(101)-50), minPrice)
	}
	o := schemas.Order{Header: s.header(at), OrderID: g.nextOrderID(), BuyerID: b.accounts[b.buyers[b.next]],
		SKUID: b.sku, Quantity: 1, Amount: amount, Currency: g.cfg.Currency}
	g.ev.Kind, g.ev.Order, g.evStream = schemas.KindOrder, o, s
	if r.Float64() < b.refundShare {
		delay := clampMS(lognormal(r, brushRefundMedianMS, brushRefundSigma), brushMinRefundMS, brushMaxRefundMS)
		g.pendingRefund = &refund{s: s, at: at + delay, orderID: o.OrderID, buyerID: o.BuyerID, amount: o.Amount,
			reason: pick(r, quickRefundReasons)}
	}
	if b.next++; b.next < len(b.times) {
		g.schedule(b, b.times[b.next])
	}
	return true
}

// spikeRefund is refund_spike's verdict on an order o placed on its stream during the episode:
// a quick full refund for refundRate of them, none for the rest.
func (g *Generator) spikeRefund(ep *episode, o *schemas.Order, at int64) *refund {
	r := g.srng
	if r.Float64() >= ep.refundRate {
		return nil
	}
	delay := min(spikeMinRefundMS+int64(spikeMeanRefundMS*r.ExpFloat64()), spikeMaxRefundMS)
	return &refund{s: ep.s, at: at + delay, orderID: o.OrderID, buyerID: o.BuyerID, amount: o.Amount,
		reason: pick(r, quickRefundReasons)}
}
