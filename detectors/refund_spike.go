package detectors

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/livepulse/livepulse/schemas"
	"github.com/livepulse/livepulse/schemas/idhash"
)

// refund_spike: a stream's orders are being refunded at a rate no honest stream shows.
//
// The rate is measured on a cohort: the orders placed in the last Window (default 30 min, sliding
// by the evaluation step) and, of those, the ones refunded so far (a refund event before the
// evaluation time, matched by order_id). Unlike refunds ÷ orders of the same window, a cohort rate
// is a proportion, so its Wilson score interval is meaningful. A finding needs MinOrders orders
// (so 2 refunds of 3 orders page nobody) and either
//   - the absolute rule: a rate of at least Rate (60 %) with a lower bound (at Confidence) of at
//     least LowerBound (50 %): 21 refunded of 30 orders, 38 of 60; or
//   - the relative rule: a lower bound at or above max(BaselineFactor × baseline, BaselineFloor),
//     far above the stream's own normal (the share of its earlier orders refunded within Window
//     of being placed, learnt from orders that left the cohort while the stream was clean) or,
//     until it has one, above what honest streams show (PriorRate, 5 %): with the defaults a lower
//     bound of 25 %, e.g. 9 of 20 orders or 30 % of 500. It catches what the absolute rule
//     misses: a 10-minute wave of 70 % refunds is diluted to 30–45 % in a 30-minute cohort by the
//     honest orders around it — still 6–9 times the honest rate — and flags within minutes.
//
// Both rules also judge the cohort of the last ShortWindow (10 min): a wave shorter than Window
// on a small stream is diluted in the long cohort by the honest orders before and after it, not
// in the short one. The surer of the two that fires is reported.
//
// The absolute rule also applies to each SKU of the stream on its own, so one SKU refunded en
// masse stands out among many honest ones.
//
// Honest refunds (7–15 % of orders) mostly come hours later, as returns; within 30 min only quick
// cancellations (a few percent of orders) count. Refund velocity, the delay from order to refund,
// is measured for each refund (the detector keeps the cohort's orders in a bounded map per
// stream): refunds within QuickRefund of their orders are the signature of orders placed to be
// cancelled. Refunds are attributed to their order's stream; refunds of orders not in memory
// (older than the cohort, or from before the detector started) are ignored.
//
// The velocity rule: a cohort rate lags, because its recent orders have not had the time to be
// refunded yet; a wave of quick cancellations shows first as quick refunds arriving faster than
// the stream's orders explain. The quick refunds of the last VelocityWindow are counted against
// the number expected of the orders exposed in that time (baseline quick-refund share × each
// order's overlap of its first QuickRefund with the velocity window ÷ QuickRefund, or, if more,
// the orders placed in the velocity window, in case honest ones come at once); a finding
// needs MinOrders orders in the cohort, VelocityMinRefunds quick refunds, BaselineFactor times
// the expected number, and a Poisson chance of at most VelocityAlpha.
//
// Per KOL and brand: a stream without a baseline of its own yet (a new stream, or one this process
// has only just taken over) is judged against its KOL's history in the store, else its brand's
// (see History), else the prior. A partition holds only the streams that hash to it, so a KOL's
// rate across concurrent streams is not computed here; KOLs host one stream at a time, so per
// stream is per KOL in practice, and flags carry kol_id for aggregation downstream.
//
// Score: the lower bound of the rate that fired, plus 0.15 × the share of quick refunds, capped
// at 1; a velocity finding alone 0.2–0.3 (info by default), by how far past BaselineFactor.

type refundSpike struct {
	c                          RefundSpikeConfig
	sev                        SeverityConfig
	idle, window, short, quick int64
	velocity                   int64
	halfLife                   int64
	z                          float64
	streams                    map[string]*rsStream
	index                      map[uint64]rsRef        // order id → its stream and sequence number
	skuN, skuK                 []int32                 // scratch: cohort per SKU
	delays                     []int64                 // scratch
	history                    map[HistoryKey]*History // the engine's; nil: none used
	historyDays                int
}

type rsRef struct {
	st  *rsStream
	seq uint64
}

type rsOrder struct {
	ts, refundTS int64 // refundTS: the first refund's time, when refunded
	id           uint64
	sku          int32 // index in rsStream.skus, −1 when not told apart
	refunded     bool
}

type rsStream struct {
	lastTS int64
	orders []rsOrder // arrival order; orders[head:] are kept
	head   int
	seq0   uint64 // sequence number of orders[0]
	skus   []string
	skuIdx map[string]int32

	baseK, baseN float64 // decayed counts of retired orders, refunded within Window / all
	baseQ        float64 // ...refunded within QuickRefund
	baseAt       int64
	flagged      bool

	kol, brand string // of its latest order, for the history
	day        int64  // UTC midnight of its latest order
}

// NewRefundSpike returns the refund_spike detector configured by cfg.RefundSpike.
func NewRefundSpike(cfg Config) Detector {
	c := cfg.RefundSpike
	return &refundSpike{
		c: c, sev: cfg.Severity,
		idle: cfg.StreamIdle.ms(), window: c.Window.ms(), short: c.ShortWindow.ms(), quick: c.QuickRefund.ms(), halfLife: c.BaselineHalfLife.ms(),
		velocity: c.VelocityWindow.ms(), historyDays: cfg.HistoryDays,
		z:       zFor(c.Confidence),
		streams: make(map[string]*rsStream),
		index:   make(map[uint64]rsRef),
	}
}

func (d *refundSpike) Kind() string { return KindRefundSpike }

func (d *refundSpike) size() int { return len(d.index) }

func (d *refundSpike) Observe(ev *schemas.Event) {
	switch ev.Kind {
	case schemas.KindOrder:
		o := &ev.Order
		st := d.streams[o.StreamID]
		if st == nil {
			st = &rsStream{lastTS: o.TS, skuIdx: make(map[string]int32), baseAt: math.MinInt64}
			d.streams[o.StreamID] = st
		}
		st.lastTS = max(st.lastTS, o.TS)
		if o.TS >= st.day {
			st.kol, st.brand, st.day = o.KOLID, o.BrandID, floorDiv(o.TS, dayMS)*dayMS
		}
		if len(st.orders)-st.head >= d.c.MaxOrders {
			d.retire(st, false, 0) // the oldest goes, unlearnt
		}
		sku := int32(-1)
		if o.SKUID != "" {
			if i, ok := st.skuIdx[o.SKUID]; ok {
				sku = i
			} else if len(st.skus) < d.c.MaxSKUs {
				sku = int32(len(st.skus))
				st.skus = append(st.skus, o.SKUID)
				st.skuIdx[o.SKUID] = sku
			}
		}
		id := idhash.String(idhash.ID, o.OrderID)
		d.index[id] = rsRef{st: st, seq: st.seq0 + uint64(len(st.orders))}
		st.orders = append(st.orders, rsOrder{ts: o.TS, id: id, sku: sku})
	case schemas.KindRefund:
		r := &ev.Refund
		ref, ok := d.index[idhash.String(idhash.ID, r.OrderID)]
		if !ok {
			return
		}
		o := &ref.st.orders[ref.seq-ref.st.seq0]
		if !o.refunded || r.TS < o.refundTS {
			o.refunded, o.refundTS = true, r.TS
		}
	}
}

// retire forgets the oldest kept order of st, learning from it for the baseline when learn.
func (d *refundSpike) retire(st *rsStream, learn bool, t int64) {
	o := &st.orders[st.head]
	if learn {
		if st.baseAt != math.MinInt64 {
			f := math.Exp2(-float64(t-st.baseAt) / float64(d.halfLife))
			st.baseK *= f
			st.baseN *= f
			st.baseQ *= f
		}
		st.baseAt = t
		st.baseN++
		if o.refunded && o.refundTS < o.ts+d.window {
			st.baseK++
		}
		if o.refunded && o.refundTS <= o.ts+d.quick {
			st.baseQ++
		}
	}
	seq := st.seq0 + uint64(st.head)
	if ref, ok := d.index[o.id]; ok && ref.st == st && ref.seq == seq {
		delete(d.index, o.id)
	}
	st.orders, st.head, st.seq0 = advanceHead(st.orders, st.head+1, st.seq0)
}

func (d *refundSpike) Evaluate(t int64) []Finding {
	var out []Finding
	idle := subSat(t, d.idle)
	for id, st := range d.streams {
		if st.lastTS <= idle {
			for st.head < len(st.orders) {
				d.retire(st, false, t)
			}
			delete(d.streams, id)
			continue
		}
		if f, ok := d.evalStream(id, st, t); ok {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b Finding) int { return cmp.Compare(a.StreamID, b.StreamID) })
	return out
}

// rsCohort is the orders of one cohort window and how many of them were refunded.
type rsCohort struct {
	window, lo int64
	n, k       int
	lb         float64
	abs, rel   bool
}

func (d *refundSpike) evalStream(id string, st *rsStream, t int64) (Finding, bool) {
	lo := t - d.window
	for st.head < len(st.orders) && st.orders[st.head].ts < lo {
		d.retire(st, !st.flagged, t)
	}
	c := &d.c
	all := [2]rsCohort{{window: d.window, lo: lo}, {window: d.short, lo: t - d.short}}
	cohorts := all[:1]
	if d.short > 0 && d.short < d.window {
		cohorts = all[:2]
	}
	d.skuN = slices.Grow(d.skuN[:0], len(st.skus))[:len(st.skus)]
	d.skuK = slices.Grow(d.skuK[:0], len(st.skus))[:len(st.skus)]
	clear(d.skuN)
	clear(d.skuK)
	// Velocity: the quick refunds that arrived in (vlo, t], and the time the orders spent in
	// their first QuickRefund within it.
	vlo := t - d.velocity
	vq, vorders, exposure, vfirst := 0, 0, int64(0), t
	for i := st.head; i < len(st.orders); i++ {
		o := &st.orders[i]
		if o.ts < lo {
			continue // out of order: behind a newer one, retired soon
		}
		if d.velocity > 0 && o.ts+d.quick > vlo {
			exposure += max(0, min(t, o.ts+d.quick)-max(vlo, o.ts))
			if o.ts > vlo {
				vorders++
			}
			if o.refunded && o.refundTS > vlo && o.refundTS-o.ts <= d.quick {
				vq++
				vfirst = min(vfirst, o.ts)
			}
		}
		for j := range cohorts {
			if o.ts >= cohorts[j].lo {
				cohorts[j].n++
				if o.refunded {
					cohorts[j].k++
				}
			}
		}
		if o.sku >= 0 {
			d.skuN[o.sku]++
			if o.refunded {
				d.skuK[o.sku]++
			}
		}
	}

	hasBase := st.baseN >= float64(c.BaselineMinOrders)
	base, from := c.PriorRate, ""
	if hasBase {
		base = st.baseK / st.baseN
	} else if h, scope := d.historyOf(st); h != nil {
		base, from = float64(h.Refunded)/float64(h.Orders), scope
	}
	relThr := max(c.BaselineFactor*base, c.BaselineFloor)
	// The velocity rule's baseline: the stream's own quick-refund share, drawn towards the
	// prior by BaselineMinOrders orders' weight so a short clean record does not make it 0;
	// without one, the within-Window share stands in (at least the quick one, so a cautious
	// choice).
	quickBase := base
	if hasBase {
		m := float64(c.BaselineMinOrders)
		quickBase = (st.baseQ + c.PriorRate*m) / (st.baseN + m)
	}
	// Honest quick refunds spread over each order's first QuickRefund (exposure), or all at
	// once right after their orders (the orders of the velocity window): the larger, so a burst
	// of orders with their usual quick cancellations is not mistaken for a wave.
	expected := quickBase * max(float64(exposure)/float64(max(d.quick, 1)), float64(vorders))
	velLogP := logPoissonTail(vq, expected)
	velFired := d.velocity > 0 && cohorts[0].n >= c.MinOrders && vq >= c.VelocityMinRefunds && float64(vq) >= c.BaselineFactor*expected &&
		velLogP <= math.Log(c.VelocityAlpha)
	// The cohort judged: the first (the full window) unless only the short one fires, or both
	// fire and the short one is surer.
	best := 0
	for j := range cohorts {
		ch := &cohorts[j]
		ch.lb = wilsonLower(ch.k, ch.n, d.z)
		rate := 0.0
		if ch.n > 0 {
			rate = float64(ch.k) / float64(ch.n)
		}
		ch.abs = ch.n >= c.MinOrders && rate >= c.Rate && ch.lb >= c.LowerBound
		ch.rel = !ch.abs && (hasBase || from != "" || c.PriorRate > 0) && ch.n >= c.MinOrders && ch.lb >= relThr
		b := &cohorts[best]
		if fired := ch.abs || ch.rel; fired && (!(b.abs || b.rel) || ch.lb > b.lb) {
			best = j
		}
	}
	ch := cohorts[best]
	n, k, lb, absFired, relFired := ch.n, ch.k, ch.lb, ch.abs, ch.rel
	rate := 0.0
	if n > 0 {
		rate = float64(k) / float64(n)
	}
	sku, skuLB := -1, 0.0
	for i := range d.skuN {
		if int(d.skuN[i]) < c.MinOrders {
			continue
		}
		l := wilsonLower(int(d.skuK[i]), int(d.skuN[i]), d.z)
		if float64(d.skuK[i]) >= c.Rate*float64(d.skuN[i]) && l >= c.LowerBound && (sku < 0 || l > skuLB) {
			sku, skuLB = i, l
		}
	}
	found := absFired || relFired || sku >= 0 || velFired
	st.flagged = found
	if !found {
		return Finding{}, false
	}

	// Velocity and the evidence's window over the judged cohort.
	quick, first := 0, t
	delays := d.delays[:0]
	for i := st.head; i < len(st.orders); i++ {
		o := &st.orders[i]
		if o.ts < ch.lo || !o.refunded {
			continue
		}
		delay := max(0, o.refundTS-o.ts)
		delays = append(delays, delay)
		if delay <= d.quick {
			quick++
		}
		first = min(first, o.ts)
	}
	d.delays = delays[:0]

	slices.Sort(delays)
	median := int64(0)
	if len(delays) > 0 {
		median = delays[len(delays)/2]
	}
	quickShare := 0.0
	if k > 0 {
		quickShare = float64(quick) / float64(k)
	}
	conf := fmtPct(c.Confidence)
	window := fmtDur(ch.window)
	var fired, texts []string
	score, velScore := 0.0, 0.0
	cohort := fmtInt(int64(k)) + " of " + fmtInt(int64(n)) + " orders placed in the last " + window + " have been refunded (" +
		fmtPct(rate) + "; with " + conf + " confidence at least " + fmtPct(lb)
	switch {
	case absFired:
		fired = append(fired, "refund_rate")
		texts = append(texts, cohort+"; the limits are "+fmtPct(c.Rate)+" observed and "+fmtPct(c.LowerBound)+" at "+conf+" confidence)")
		score = lb
	case relFired:
		fired = append(fired, "refund_rate_vs_baseline")
		against := "this stream's usual " + fmtPct(base)
		switch {
		case hasBase:
		case from != "":
			against = "the " + fmtPct(base) + " this " + from + " usually has"
		default:
			against = "the " + fmtPct(base) + " honest streams usually see"
		}
		texts = append(texts, cohort+", against "+against+" refunded within "+fmtDur(d.window)+"; the limit is "+fmtPct(relThr)+
			" at "+conf+" confidence)")
		score = lb
	default:
		texts = append(texts, cohort+")")
	}
	if sku >= 0 {
		fired = append(fired, "sku_refund_rate")
		sr := float64(d.skuK[sku]) / float64(d.skuN[sku])
		texts = append(texts, "SKU "+st.skus[sku]+": "+fmtInt(int64(d.skuK[sku]))+" of "+fmtInt(int64(d.skuN[sku]))+
			" orders refunded ("+fmtPct(sr)+"; at least "+fmtPct(skuLB)+" with "+conf+" confidence)")
		score = max(score, skuLB)
	}
	if k > 0 {
		texts = append(texts, fmtInt(int64(quick))+" of the "+fmtInt(int64(k))+" "+plural(int64(k), "refund")+" came within "+
			fmtDur(d.quick)+" of the order (median delay "+fmtDur(median)+")")
	}
	if velFired {
		fired = append(fired, "refund_velocity")
		texts = append(texts, "in the last "+fmtDur(d.velocity)+", "+fmtInt(int64(vq))+" "+plural(int64(vq), "order")+
			" were refunded within "+fmtDur(d.quick)+" of being placed, where "+fmtNum(expected)+" were expected at a quick-refund rate of "+
			fmtPct(quickBase)+" (chance "+fmtChance(velLogP)+")")
		// An early warning, surer the further past the factor it is; it scores below the cohort
		// rules, which measure the rate itself, so their findings replace it in the flag.
		velScore = 0.2 + 0.1*strength(float64(vq)/max(expected, 1e-9), c.BaselineFactor, 4*c.BaselineFactor)
		if !absFired && !relFired && sku < 0 {
			first = vfirst
		}
	}
	if hasBase {
		texts = append(texts, "this stream usually has "+fmtPct(base)+" of its orders refunded within "+fmtDur(d.window)+
			" (over "+fmtInt(int64(math.Round(st.baseN)))+" orders)")
	} else if h, _ := d.historyOf(st); h != nil {
		texts = append(texts, "no baseline for this stream yet; its "+from+" usually has "+fmtPct(base)+" of orders refunded within "+
			fmtDur(d.window)+" (over "+fmtInt(h.Orders)+" orders in the "+fmtInt(int64(d.historyDays))+" days before)")
	} else {
		texts = append(texts, "no baseline for this stream yet (honest streams refund 7–15 % of orders, mostly hours later)")
	}
	if absFired || relFired || sku >= 0 {
		score += 0.15 * quickShare
	}
	score = round4(min(1, max(score, velScore)))
	sig := map[string]float64{
		"orders":                  float64(n),
		"refunded_orders":         float64(k),
		"refund_rate":             round4(rate),
		"refund_rate_lower_bound": round4(lb),
		"quick_refunds":           float64(quick),
		"quick_refund_share":      round4(quickShare),
		"median_refund_delay_s":   round4(float64(median) / 1000),
		"velocity_quick_refunds":  float64(vq),
		"velocity_expected":       round4(expected),
	}
	if sku >= 0 {
		sig["sku_orders"] = float64(d.skuN[sku])
		sig["sku_refunded_orders"] = float64(d.skuK[sku])
		sig["sku_refund_rate_lower_bound"] = round4(skuLB)
	}
	baseline := map[string]float64{"rate_threshold": c.Rate, "lower_bound_threshold": c.LowerBound, "confidence": c.Confidence,
		"quick_refund_rate": round4(quickBase)}
	baseline["relative_threshold"] = round4(relThr)
	if hasBase {
		baseline["refund_rate"] = round4(base)
		baseline["orders"] = round4(st.baseN)
	} else if h, _ := d.historyOf(st); h != nil {
		baseline[from+"_refund_rate"] = round4(base)
		baseline[from+"_orders"] = float64(h.Orders)
	} else {
		baseline["prior_rate"] = c.PriorRate
	}
	return Finding{
		StreamID: id, Score: score, Severity: d.sev.of(score),
		WindowStart: first, WindowEnd: t,
		Evidence: Evidence{
			Summary: strings.Join(texts, "; ") + ". Signals fired: " + strings.Join(fired, ", ") + ".",
			Fired:   fired, Signals: sig, Baseline: baseline,
		},
	}, true
}

// historyOf returns the history standing in for st's missing baseline: its KOL's, else its
// brand's, when it weighs BaselineMinOrders orders; with its scope.
func (d *refundSpike) historyOf(st *rsStream) (*History, string) {
	for _, k := range [...]HistoryKey{{ScopeKOL, st.kol, st.day}, {ScopeBrand, st.brand, st.day}} {
		if h := d.history[k]; k.ID != "" && h != nil && h.Orders >= int64(d.c.BaselineMinOrders) {
			return h, k.Scope
		}
	}
	return nil, ""
}
