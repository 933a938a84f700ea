package detectors

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/livepulse/livepulse/schemas"
	"github.com/livepulse/livepulse/schemas/idhash"
)

// order_brushing: fake orders placed by a few accounts or devices to inflate a stream's sales.
//
// Over the orders of the last Window (default 1 h, the marketplace rule's span):
//   - the marketplace rule: orders ÷ distinct buyers ≥ OrdersPerBuyer (3) with at least
//     MinOrders orders; the same over the buyers' devices (a buyer's device is known when the
//     buyer watched the stream, buyer_id being the viewer_id of its join);
//   - brushing hidden in honest traffic: at least HeavyMinOrders orders from heavy buyers or
//     devices (HeavyOrders or more orders each), corroborated by identical amounts (the most
//     common amount covers IdenticalShare of them, and is at least three times as common among
//     them as among the other orders) or refunds (RefundShare of them refunded);
//   - a ring from its first orders: at least SharedDeviceOrders orders from accounts that share
//     a device with another ordering account, corroborated the same way. A ring runs its
//     accounts on a few phones; an honest household sharing a tablet buys different things.
//
// A flash sale is a burst of orders from many distinct buyers, all at the sale price: its orders
// per buyer stay near 1, it has few heavy buyers, and their identical amounts are everyone's
// price, so they corroborate nothing. Identical amounts alone never fire.
//
// Score: a noisy-OR of the rules that fired (ratio rules 0.55–0.95 by how far past the limit,
// heavy orders 0.35–0.6 by their share of all orders) and the corroborations (0.25 × their share).

type orderBrushing struct {
	c      OrderBrushingConfig
	sev    SeverityConfig
	idle   int64
	window int64

	streams map[string]*obStream
	index   map[uint64]obRef        // order id → its stream and sequence number
	amounts map[schemas.Money]int32 // scratch for Evaluate
	owners  map[uint64]devOwner     // scratch: device → its ordering accounts
}

// devOwner is the first account seen ordering from a device, and whether another did too.
type devOwner struct {
	buyer  uint64
	shared bool
}

type obRef struct {
	st  *obStream
	seq uint64
}

type obOrder struct {
	ts            int64
	id, buyer, dv uint64 // dv: the buyer's device, 0 when unknown
	amount        schemas.Money
	refunded      bool
}

type obDevice struct {
	device uint64
	ts     int64
}

type obStream struct {
	lastTS int64
	orders []obOrder // arrival order; orders[head:] are kept
	head   int
	seq0   uint64
	// Counts over the kept orders, kept as orders come and go so that an evaluation costs O(1)
	// unless heavy buyers or devices exist.
	buyers, devices           map[uint64]int32 // orders per buyer, per known device
	nd                        int              // kept orders with a known device
	heavyBuyers, heavyDevices int              // with HeavyOrders or more orders

	viewers   map[uint64]obDevice // viewer → device, from events carrying a device
	currency  string
	basePer   ewma // orders per buyer at clean evaluations
	lastEval  int64
	lastPrune int64
}

// NewOrderBrushing returns the order_brushing detector configured by cfg.OrderBrushing.
func NewOrderBrushing(cfg Config) Detector {
	c := cfg.OrderBrushing
	return &orderBrushing{
		c: c, sev: cfg.Severity, idle: cfg.StreamIdle.ms(), window: c.Window.ms(),
		streams: make(map[string]*obStream),
		index:   make(map[uint64]obRef),
		amounts: make(map[schemas.Money]int32),
		owners:  make(map[uint64]devOwner),
	}
}

func (d *orderBrushing) Kind() string { return KindOrderBrushing }

func (d *orderBrushing) size() int {
	n := len(d.index)
	for _, st := range d.streams {
		n += len(st.viewers)
	}
	return n
}

func (d *orderBrushing) stream(id string, ts int64) *obStream {
	st := d.streams[id]
	if st == nil {
		st = &obStream{
			lastTS: ts, viewers: make(map[uint64]obDevice), buyers: make(map[uint64]int32), devices: make(map[uint64]int32),
			lastEval: math.MinInt64, lastPrune: math.MinInt64,
		}
		d.streams[id] = st
	}
	st.lastTS = max(st.lastTS, ts)
	return st
}

func (d *orderBrushing) Observe(ev *schemas.Event) {
	switch ev.Kind {
	case schemas.KindViewer:
		v := &ev.Viewer
		if v.DeviceID == "" || v.ViewerID == "" {
			return // only joins carry the device
		}
		st := d.stream(v.StreamID, v.TS)
		key := idhash.String(idhash.Viewer, v.ViewerID)
		if _, ok := st.viewers[key]; !ok && len(st.viewers) >= d.c.MaxViewers {
			return
		}
		st.viewers[key] = obDevice{device: nonZero(idhash.String(idhash.Device, v.DeviceID)), ts: v.TS}
	case schemas.KindOrder:
		o := &ev.Order
		st := d.stream(o.StreamID, o.TS)
		if len(st.orders)-st.head >= d.c.MaxOrders {
			d.retire(st)
		}
		buyer := idhash.String(idhash.Viewer, o.BuyerID)
		id := idhash.String(idhash.ID, o.OrderID)
		d.index[id] = obRef{st: st, seq: st.seq0 + uint64(len(st.orders))}
		st.orders = append(st.orders, obOrder{ts: o.TS, id: id, buyer: buyer, dv: st.viewers[buyer].device, amount: o.Amount})
		d.count(st, &st.orders[len(st.orders)-1], +1)
		if o.Currency != "" {
			st.currency = o.Currency
		}
	case schemas.KindRefund:
		r := &ev.Refund
		if ref, ok := d.index[idhash.String(idhash.ID, r.OrderID)]; ok {
			ref.st.orders[ref.seq-ref.st.seq0].refunded = true
		}
	}
}

// count adds (delta +1) or removes (−1) o from st's counts.
func (d *orderBrushing) count(st *obStream, o *obOrder, delta int32) {
	heavy := int32(d.c.HeavyOrders)
	bump := func(m map[uint64]int32, k uint64, heavyN *int) {
		c := m[k] + delta
		if c <= 0 {
			delete(m, k)
		} else {
			m[k] = c
		}
		if delta > 0 && c == heavy {
			*heavyN++
		} else if delta < 0 && c == heavy-1 {
			*heavyN--
		}
	}
	bump(st.buyers, o.buyer, &st.heavyBuyers)
	if o.dv != 0 {
		bump(st.devices, o.dv, &st.heavyDevices)
		st.nd += int(delta)
	}
}

// heavy reports whether o's buyer or device has at least h kept orders.
func (st *obStream) heavy(o *obOrder, h int) bool {
	return int(st.buyers[o.buyer]) >= h || (o.dv != 0 && int(st.devices[o.dv]) >= h)
}

func (d *orderBrushing) retire(st *obStream) {
	o := &st.orders[st.head]
	d.count(st, o, -1)
	if ref, ok := d.index[o.id]; ok && ref.st == st && ref.seq == st.seq0+uint64(st.head) {
		delete(d.index, o.id)
	}
	st.orders, st.head, st.seq0 = advanceHead(st.orders, st.head+1, st.seq0)
}

func (d *orderBrushing) Evaluate(t int64) []Finding {
	var out []Finding
	idle := subSat(t, d.idle)
	for id, st := range d.streams {
		if st.lastTS <= idle {
			for st.head < len(st.orders) {
				d.retire(st)
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

func (d *orderBrushing) evalStream(id string, st *obStream, t int64) (Finding, bool) {
	lo := t - d.window
	for st.head < len(st.orders) && st.orders[st.head].ts < lo {
		d.retire(st)
	}
	if t-st.lastPrune >= 60_000 { // viewer → device entries older than the window
		for k, v := range st.viewers {
			if v.ts < lo {
				delete(st.viewers, k)
			}
		}
		st.lastPrune = t
	}
	c := &d.c
	clear(d.amounts)
	// The kept orders are those of the window (and, briefly, the few that arrived out of order
	// behind a newer one and are retired with it).
	n, nd := len(st.orders)-st.head, st.nd
	dt := int64(0)
	if st.lastEval != math.MinInt64 {
		dt = t - st.lastEval
	}
	st.lastEval = t
	if n == 0 {
		return Finding{}, false
	}
	buyers, devices := len(st.buyers), len(st.devices)
	perBuyer := float64(n) / float64(buyers)
	perDevice := 0.0
	if devices > 0 {
		perDevice = float64(nd) / float64(devices)
	}
	// Heavy orders: of buyers or devices with HeavyOrders or more.
	heavy, heavyRefunded, run, bestRun := 0, 0, 0, 0
	var lastAmount schemas.Money = -1
	first := t
	heavyBuyers, heavyDevices := st.heavyBuyers, st.heavyDevices
	if heavyBuyers+heavyDevices > 0 {
		for i := st.head; i < len(st.orders); i++ {
			o := &st.orders[i]
			if !st.heavy(o, c.HeavyOrders) {
				continue
			}
			heavy++
			first = min(first, o.ts)
			d.amounts[o.amount]++
			if o.refunded {
				heavyRefunded++
			}
			if o.amount == lastAmount {
				run++
			} else {
				run, lastAmount = 1, o.amount
			}
			bestRun = max(bestRun, run)
		}
	}
	var topAmount schemas.Money
	topCount := int32(0)
	for a, m := range d.amounts {
		if m > topCount || (m == topCount && a < topAmount) {
			topAmount, topCount = a, m
		}
	}

	buyerRule := n >= c.MinOrders && perBuyer >= c.OrdersPerBuyer
	deviceRule := nd >= c.MinOrders && perDevice >= c.OrdersPerDevice
	identical, refunds := 0.0, 0.0
	if heavy > 0 {
		identical = float64(topCount) / float64(heavy)
		refunds = float64(heavyRefunded) / float64(heavy)
	}
	// The same amount among the other orders: a sale price is common to everyone's orders.
	otherShare := 0.0
	if heavy > 0 && heavy < n && identical >= c.IdenticalShare {
		same := 0
		for i := st.head; i < len(st.orders); i++ {
			if o := &st.orders[i]; o.amount == topAmount && !st.heavy(o, c.HeavyOrders) {
				same++
			}
		}
		otherShare = float64(same) / float64(n-heavy)
	}
	identicalFired := heavy > 0 && identical >= c.IdenticalShare && identical >= 3*otherShare
	refundFired := heavy > 0 && refunds >= c.RefundShare
	heavyRule := heavy >= c.HeavyMinOrders && (identicalFired || refundFired)
	sh := d.sharedDevices(st)
	found := buyerRule || deviceRule || heavyRule || sh.fired

	if !found {
		if n >= c.MinOrders && dt > 0 {
			st.basePer.add(perBuyer, dt, d.window)
		}
		return Finding{}, false
	}

	window := fmtDur(d.window)
	var fired, texts []string
	var ps []float64
	all := fmtInt(int64(n)) + " " + plural(int64(n), "order") + " in the last " + window + " from " + fmtInt(int64(buyers)) +
		" " + plural(int64(buyers), "buyer") + " (" + fmtNum(perBuyer) + " per buyer"
	if st.basePer.ok {
		all += ", this stream usually " + fmtNum(st.basePer.v)
	}
	all += "; the marketplace limit is " + fmtNum(c.OrdersPerBuyer) + " per buyer within " + window + ")"
	texts = append(texts, all)
	if buyerRule {
		fired = append(fired, "orders_per_buyer")
		ps = append(ps, 0.55+0.4*strength(perBuyer, c.OrdersPerBuyer, 3*c.OrdersPerBuyer))
	}
	if deviceRule {
		fired = append(fired, "orders_per_device")
		ps = append(ps, 0.55+0.4*strength(perDevice, c.OrdersPerDevice, 3*c.OrdersPerDevice))
		texts = append(texts, fmtInt(int64(nd))+" orders by buyers seen watching came from "+fmtInt(int64(devices))+" "+
			plural(int64(devices), "device")+" ("+fmtNum(perDevice)+" per device)")
	}
	if heavy > 0 {
		var parts []string
		if heavyBuyers > 0 {
			parts = append(parts, fmtInt(int64(heavyBuyers))+" "+plural(int64(heavyBuyers), "buyer"))
		}
		if heavyDevices > 0 {
			parts = append(parts, fmtInt(int64(heavyDevices))+" "+plural(int64(heavyDevices), "device"))
		}
		who := strings.Join(parts, " and ")
		sale := ""
		if otherShare > 0 {
			sale = "; the price of " + fmtPct(otherShare) + " of the other orders too"
		}
		texts = append(texts, fmtInt(int64(heavy))+" of them ("+fmtPct(float64(heavy)/float64(n))+") came from "+who+
			" with "+fmtInt(int64(c.HeavyOrders))+" or more orders each; "+fmtInt(int64(topCount))+" of those were for exactly "+
			fmtMoney(topAmount, st.currency)+" (longest run of identical amounts: "+fmtInt(int64(bestRun))+" in a row"+
			sale+"), "+fmtInt(int64(heavyRefunded))+" refunded")
	}
	if heavyRule {
		fired = append(fired, "heavy_buyers")
		ps = append(ps, 0.35+0.25*strength(float64(heavy)/float64(n), 0.1, 0.6))
	}
	if identicalFired {
		fired = append(fired, "identical_amounts")
		ps = append(ps, 0.25*identical)
	}
	if refundFired {
		fired = append(fired, "refunded_orders")
		ps = append(ps, 0.25*refunds)
	}
	if sh.orders > 0 {
		texts = append(texts, fmtInt(int64(sh.orders))+" "+plural(int64(sh.orders), "order")+" came from "+fmtInt(int64(sh.accounts))+
			" accounts sharing "+fmtInt(int64(sh.devices))+" "+plural(int64(sh.devices), "device")+"; "+fmtInt(int64(sh.top))+
			" of those were for exactly "+fmtMoney(sh.amount, st.currency)+", "+fmtInt(int64(sh.refunded))+" refunded")
	}
	if sh.fired {
		fired = append(fired, "shared_devices")
		ps = append(ps, 0.35+0.25*strength(float64(sh.orders), float64(c.SharedDeviceOrders), 4*float64(c.SharedDeviceOrders)))
		if first == t {
			first = sh.first
		}
	}
	if first == t {
		first = max(lo, st.orders[st.head].ts)
	}
	score := round4(noisyOr(ps...))
	sig := map[string]float64{
		"orders":                 float64(n),
		"buyers":                 float64(buyers),
		"orders_per_buyer":       round4(perBuyer),
		"orders_with_device":     float64(nd),
		"devices":                float64(devices),
		"orders_per_device":      round4(perDevice),
		"heavy_orders":           float64(heavy),
		"heavy_buyers":           float64(heavyBuyers),
		"heavy_devices":          float64(heavyDevices),
		"identical_share":        round4(identical),
		"identical_share_others": round4(otherShare),
		"identical_amount":       float64(topAmount) / 100,
		"longest_identical_run":  float64(bestRun),
		"heavy_refund_share":     round4(refunds),
		"shared_device_orders":   float64(sh.orders),
		"shared_devices":         float64(sh.devices),
		"shared_device_accounts": float64(sh.accounts),
	}
	base := map[string]float64{
		"orders_per_buyer_limit":    c.OrdersPerBuyer,
		"orders_per_device_limit":   c.OrdersPerDevice,
		"identical_share_threshold": c.IdenticalShare,
		"refund_share_threshold":    c.RefundShare,
		"shared_device_orders_min":  float64(c.SharedDeviceOrders),
	}
	if st.basePer.ok {
		base["orders_per_buyer"] = round4(st.basePer.v)
	}
	return Finding{
		StreamID: id, Score: score, Severity: d.sev.of(score),
		WindowStart: first, WindowEnd: t,
		Evidence: Evidence{
			Summary: strings.Join(texts, "; ") + ". Signals fired: " + strings.Join(fired, ", ") + ".",
			Fired:   fired, Signals: sig, Baseline: base,
		},
	}, true
}

// sharedOrders is what the shared-device rule saw in a stream's window.
type sharedOrders struct {
	orders, devices, accounts int           // orders from accounts sharing a device; those devices and accounts
	top, refunded             int           // of them: at the most common amount, refunded
	amount                    schemas.Money // the most common amount
	first                     int64         // the earliest of them
	fired                     bool
}

// sharedDevices applies the shared-device rule to st's kept orders.
func (d *orderBrushing) sharedDevices(st *obStream) sharedOrders {
	c := &d.c
	var out sharedOrders
	// Only when some device has two orders or more can two accounts share one.
	if c.SharedDeviceOrders == 0 || st.nd < c.SharedDeviceOrders || len(st.devices) == st.nd {
		return out
	}
	clear(d.owners)
	for i := st.head; i < len(st.orders); i++ {
		o := &st.orders[i]
		if o.dv == 0 {
			continue
		}
		if w, ok := d.owners[o.dv]; !ok {
			d.owners[o.dv] = devOwner{buyer: o.buyer}
		} else if !w.shared && w.buyer != o.buyer {
			d.owners[o.dv] = devOwner{buyer: w.buyer, shared: true}
			out.devices++
		}
	}
	if out.devices == 0 {
		return out
	}
	clear(d.amounts)
	accounts := make(map[uint64]struct{})
	out.first = math.MaxInt64
	others, othersAtTop := 0, 0
	for i := st.head; i < len(st.orders); i++ {
		o := &st.orders[i]
		if o.dv == 0 || !d.owners[o.dv].shared {
			continue
		}
		out.orders++
		d.amounts[o.amount]++
		accounts[o.buyer] = struct{}{}
		out.first = min(out.first, o.ts)
		if o.refunded {
			out.refunded++
		}
	}
	out.accounts = len(accounts)
	for a, m := range d.amounts {
		if int(m) > out.top || (int(m) == out.top && a < out.amount) {
			out.amount, out.top = a, int(m)
		}
	}
	if out.orders < c.SharedDeviceOrders {
		return out
	}
	// A sale price is everyone's: the amount must be three times as common among these orders.
	for i := st.head; i < len(st.orders); i++ {
		if o := &st.orders[i]; o.dv == 0 || !d.owners[o.dv].shared {
			others++
			if o.amount == out.amount {
				othersAtTop++
			}
		}
	}
	share := float64(out.top) / float64(out.orders)
	otherShare := 0.0
	if others > 0 {
		otherShare = float64(othersAtTop) / float64(others)
	}
	identical := share >= c.IdenticalShare && share >= 3*otherShare
	refunded := float64(out.refunded)/float64(out.orders) >= c.RefundShare
	out.fired = identical || refunded
	return out
}
