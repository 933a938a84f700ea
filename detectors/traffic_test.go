package detectors

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/livepulse/livepulse/schemas"
	"github.com/livepulse/livepulse/schemas/idhash"
)

// Synthetic traffic for the tests, built here rather than with pipeline/simulate so the tests
// control every pattern. The honest model follows simulate's: viewers join with a device and an
// address (a household's line shared by up to 3 viewers, or a carrier NAT range), heartbeat every
// 20–30 s, 55 % engage now and then, leave after a log-normal dwell (median 100 s, σ 1.4), 3 %
// go silent instead of leaving; the platform reports the concurrent audience every 5 s times an
// honest factor of 1.0–1.3; ~6 % of viewers who watched 90 s buy; 7–15 % of orders are refunded,
// 40 % of those as quick cancellations (2 min + ~6 min), the others hours later.

const (
	t0     = int64(1_763_000_000_000) // a multiple of 10 s
	minute = int64(60_000)
	second = int64(1000)
)

type traffic struct {
	rng  *rand.Rand
	evs  []tev
	next int // id counter
}

// tev is a generated event, kept compact (a schemas.Event is 528 bytes) until it is fed.
type tev struct {
	ts, arr    int64 // event time; arrival time (event time + network delay)
	s          *streamCfg
	kind       schemas.Kind
	action     schemas.Action
	a, b, c, d string // viewer, session, device, ip | order, buyer, sku | order, buyer (refund)
	amount     schemas.Money
	n          uint64 // reported viewers
}

// event fills ev with e.
func (e *tev) event(ev *schemas.Event) {
	h := schemas.Header{TS: e.ts, StreamID: e.s.ID, KOLID: "kol-" + e.s.ID, BrandID: "brand-1", Platform: "douyin"}
	ev.Kind = e.kind
	switch e.kind {
	case schemas.KindViewer:
		ev.Viewer = schemas.Viewer{Header: h, Action: e.action, ViewerID: e.a, SessionID: e.b, DeviceID: e.c, IP: e.d, ReportedViewers: e.n}
		if e.action == schemas.ActionEngage {
			ev.Viewer.Kind = schemas.EngageLike
		}
	case schemas.KindOrder:
		ev.Order = schemas.Order{Header: h, OrderID: e.a, BuyerID: e.b, SKUID: e.c, Quantity: 1, Amount: e.amount, Currency: "CNY"}
	case schemas.KindRefund:
		ev.Refund = schemas.Refund{Header: h, RefundID: "r-" + e.a, OrderID: e.a, BuyerID: e.b, Amount: e.amount, Currency: "CNY"}
	}
}

func newTraffic(seed uint64) *traffic {
	return &traffic{rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
}

func (g *traffic) id(prefix string) string {
	g.next++
	return prefix + strconv.Itoa(g.next)
}

func (g *traffic) add(e tev) {
	e.arr = e.ts + g.rng.Int64N(2000) // up to 2 s out of order
	g.evs = append(g.evs, e)
}

func (g *traffic) viewer(s *streamCfg, ts int64, a schemas.Action, viewer, session, device, ip string) {
	g.add(tev{ts: ts, s: s, kind: schemas.KindViewer, action: a, a: viewer, b: session, c: device, d: ip})
}

func (g *traffic) engage(s *streamCfg, ts int64, viewer, session string) {
	g.add(tev{ts: ts, s: s, kind: schemas.KindViewer, action: schemas.ActionEngage, a: viewer, b: session})
}

func (g *traffic) count(s *streamCfg, ts int64, n uint64) {
	g.add(tev{ts: ts, s: s, kind: schemas.KindViewer, action: schemas.ActionCount, n: n})
}

// order places an order and returns its id.
func (g *traffic) order(s *streamCfg, ts int64, buyer, sku string, amount schemas.Money) string {
	id := g.id("o-")
	g.add(tev{ts: ts, s: s, kind: schemas.KindOrder, a: id, b: buyer, c: sku, amount: amount})
	return id
}

func (g *traffic) refund(s *streamCfg, ts int64, orderID, buyer string, amount schemas.Money) {
	g.add(tev{ts: ts, s: s, kind: schemas.KindRefund, a: orderID, b: buyer, amount: amount})
}

// streamCfg describes one honest stream and what is done to it.
type streamCfg struct {
	ID         string
	Start, End int64
	// Rate is the arrival rate of viewers (joins per second) at ts.
	Rate func(ts int64) float64
	// Factor is the honest displayed ÷ real concurrent (1.0–1.3); Inflate multiplies the displayed
	// count on top (nil: 1).
	Factor  float64
	Inflate func(ts int64) float64
	// Carrier is the share of sessions on carrier NAT, all from 3 /24 networks (harsher than
	// real carriers).
	Carrier float64
	// BuyProb is the chance that a viewer who watched 90 s buys; RefundRate the share of orders
	// refunded.
	BuyProb, RefundRate float64
	// Population is the number of distinct viewers of the stream (repeat visits happen).
	Population int
	// Extra, if set, adds events to the stream: fraud on top of honest traffic.
	Extra func(g *traffic, s *streamCfg)

	intervals [][2]int64 // real sessions, for the displayed count
	extraLive [][2]int64 // sessions the platform counts on top (e.g. bots), if any
}

func constRate(r float64) func(int64) float64 { return func(int64) float64 { return r } }

var prices = []schemas.Money{1990, 2990, 4990, 9900, 12900, 19900, 29900}

func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// honest generates s's honest viewers, displayed counts, orders and refunds.
func (g *traffic) honest(s *streamCfg) {
	if s.Factor == 0 {
		s.Factor = 1.15
	}
	if s.Population == 0 {
		s.Population = 1_000_000
	}
	if s.BuyProb == 0 {
		s.BuyProb = 0.06
	}
	if s.RefundRate == 0 {
		s.RefundRate = 0.1
	}
	ts := s.Start
	for {
		rate := s.Rate(ts)
		if rate <= 0 {
			ts += second
			if ts >= s.End {
				break
			}
			continue
		}
		ts += int64(g.rng.ExpFloat64() / rate * 1000)
		if ts >= s.End {
			break
		}
		g.session(s, ts)
	}
	g.counts(s)
	if s.Extra != nil {
		s.Extra(g, s)
	}
}

// session is one honest viewer's visit starting at join.
func (g *traffic) session(s *streamCfg, join int64) {
	v := g.rng.IntN(s.Population)
	viewer := s.ID + "-v" + strconv.Itoa(v)
	device := s.ID + "-dev" + strconv.Itoa(v)
	var ip string
	if g.rng.Float64() < s.Carrier {
		ip = "223.104." + strconv.Itoa(7+g.rng.IntN(3)) + "." + strconv.Itoa(1+g.rng.IntN(254))
	} else {
		h := idhash.Mix64(uint64(v/3) + 77) // a household: up to 3 viewers share the line
		ip = strconv.Itoa(int(h%200)+20) + "." + strconv.Itoa(int(h>>8%256)) + "." + strconv.Itoa(int(h>>16%256)) + "." + strconv.Itoa(int(h>>24%254)+1)
	}
	session := g.id(s.ID + "-s")
	dwell := int64(min(max(lognormal(g.rng, 100_000, 1.4), 3000), 3_600_000))
	leave := join + dwell
	if leave > s.End {
		leave = s.End + g.rng.Int64N(15_000)
	}
	silent := g.rng.Float64() < 0.03
	g.viewer(s, join, schemas.ActionJoin, viewer, session, device, ip)
	for hb := join + 20_000 + g.rng.Int64N(10_001); hb < leave; hb += 20_000 + g.rng.Int64N(10_001) {
		g.viewer(s, hb, schemas.ActionHeartbeat, viewer, session, "", "")
	}
	if g.rng.Float64() < 0.55 {
		gap := lognormal(g.rng, 120_000, 1.0)
		for e := join + 1 + int64(gap*g.rng.ExpFloat64()); e < leave; e += 1 + int64(gap*g.rng.ExpFloat64()) {
			g.engage(s, e, viewer, session)
		}
	}
	if !silent {
		g.viewer(s, leave, schemas.ActionLeave, viewer, session, "", "")
	}
	s.intervals = append(s.intervals, [2]int64{join, leave})
	if leave-join >= 90_000 && g.rng.Float64() < s.BuyProb {
		at := join + 60_000 + g.rng.Int64N(leave-join-60_000)
		g.buy(s, at, viewer)
		if g.rng.Float64() < 0.15 && leave-at > 30_000 {
			g.buy(s, at+30_000+g.rng.Int64N(leave-at-30_000), viewer)
		}
	}
}

// buy places an honest order, refunded like honest ones are.
func (g *traffic) buy(s *streamCfg, at int64, buyer string) {
	amount := prices[g.rng.IntN(len(prices))]
	id := g.order(s, at, buyer, "sku-"+strconv.Itoa(g.rng.IntN(20)), amount)
	if g.rng.Float64() < s.RefundRate {
		if g.rng.Float64() < 0.4 {
			g.refund(s, at+2*minute+int64(6*float64(minute)*g.rng.ExpFloat64()), id, buyer, amount)
		} else {
			g.refund(s, at+3*60*minute, id, buyer, amount)
		}
	}
}

// counts emits the displayed count every 5 s: real concurrent × factor × inflation.
func (g *traffic) counts(s *streamCfg) {
	type change struct {
		t int64
		d int
	}
	var ch []change
	for _, iv := range append(slices.Clip(s.intervals), s.extraLive...) {
		ch = append(ch, change{iv[0], +1}, change{iv[1], -1})
	}
	slices.SortFunc(ch, func(a, b change) int { return cmp.Compare(a.t, b.t) })
	live, i := 0, 0
	for ts := s.Start + 5000; ts < s.End; ts += 5000 {
		for i < len(ch) && ch[i].t <= ts {
			live += ch[i].d
			i++
		}
		f := s.Factor
		if s.Inflate != nil {
			f *= s.Inflate(ts)
		}
		g.count(s, ts, uint64(math.Round(float64(live)*f)))
	}
}

// events returns the events in arrival order.
func (g *traffic) events() []tev {
	slices.SortStableFunc(g.evs, func(a, b tev) int { return cmp.Compare(a.arr, b.arr) })
	return g.evs
}

// run feeds evs to a new engine, advancing to (newest event time − 5 s) after every `every`
// events (0: only at the end), then to the end + tail, and returns every flag emitted.
func run(tb testing.TB, cfg Config, evs []tev, every int, tail int64) []Flag {
	tb.Helper()
	flags, _ := runLag(tb, cfg, evs, every, 5000, tail)
	return flags
}

// runLag is run with the watermark lag given, returning the engine's final stats too.
func runLag(tb testing.TB, cfg Config, evs []tev, every int, lag, tail int64) ([]Flag, EngineStats) {
	tb.Helper()
	e := NewEngine(cfg)
	var out []Flag
	var ev schemas.Event
	newest := int64(math.MinInt64)
	for i := range evs {
		evs[i].event(&ev)
		e.Observe(&ev)
		newest = max(newest, evs[i].ts)
		if every > 0 && (i+1)%every == 0 {
			out = append(out, e.Advance(newest-lag)...)
		}
	}
	out = append(out, e.Advance(newest+tail)...)
	s := e.Stats()
	if s.Late != 0 {
		tb.Fatalf("%d events late", s.Late)
	}
	return out, s
}

// build generates the streams' traffic with seed and returns it in arrival order.
func build(seed uint64, streams ...*streamCfg) []tev {
	g := newTraffic(seed)
	for _, s := range streams {
		g.honest(s)
	}
	return g.events()
}

func flagsOf(flags []Flag, kind, stream string) []Flag {
	var out []Flag
	for _, f := range flags {
		if (kind == "" || f.Kind == kind) && (stream == "" || f.StreamID == stream) {
			out = append(out, f)
		}
	}
	return out
}

func describeFlags(flags []Flag) string {
	s := ""
	for _, f := range flags {
		s += "\n  " + f.Kind + " " + f.StreamID + " " + f.State + " " + string(f.Severity) + " score=" +
			strconv.FormatFloat(f.Score, 'f', 3, 64) + " at +" + strconv.FormatInt((f.DetectedAt-t0)/1000, 10) + "s: " + f.Evidence.Summary
	}
	return s
}
