package detectors

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/livepulse/livepulse/schemas"
)

// refundFraud adds n orders from distinct accounts between from and to, of which `refunded` are
// refunded 1–4 min after being placed.
func refundFraud(from, to int64, n, refunded int) func(g *traffic, s *streamCfg) {
	return func(g *traffic, s *streamCfg) {
		for i := range n {
			at := from + (to-from)*int64(i)/int64(n)
			buyer := "acct-" + strconv.Itoa(i)
			amount := prices[g.rng.IntN(len(prices))]
			id := g.order(s, at, buyer, "sku-"+strconv.Itoa(g.rng.IntN(20)), amount)
			if i < refunded {
				g.refund(s, at+minute+g.rng.Int64N(3*minute), id, buyer, amount)
			}
		}
	}
}

// A short wave of refunds on a small stream: diluted below every threshold in the 30-minute
// cohort by the honest orders around it, caught in the 10-minute one (short_window).
func TestRefundSpikeShortWave(t *testing.T) {
	s := &streamCfg{ID: "wave", Start: t0, End: t0 + 50*minute, Rate: constRate(0.5), Carrier: 0.3,
		Extra: refundFraud(t0+20*minute, t0+27*minute, 24, 15)}
	evs := build(7, s)
	cfg := DefaultConfig()
	cfg.RefundSpike.VelocityWindow = 0 // the cohorts alone: velocity catches the wave too
	flags := flagsOf(run(t, cfg, evs, 1000, 10*minute), KindRefundSpike, "wave")
	if len(flags) == 0 || !strings.Contains(flags[len(flags)-1].Evidence.Summary, "orders placed in the last 10 min") {
		t.Fatalf("short wave not caught in the short cohort:%s", describeFlags(flags))
	}
	cfg.RefundSpike.ShortWindow = 0
	if long := flagsOf(run(t, cfg, evs, 1000, 10*minute), KindRefundSpike, "wave"); len(long) != 0 {
		t.Errorf("the 30-minute cohort alone caught it too; the test shows nothing:%s", describeFlags(long))
	}
	t.Log(describeFlags(flags))
}

// Most orders of a stream refunded within minutes — 80 orders, 75 refunded 1–4 min later, on top
// of the stream's honest orders — raise refund_spike early, first on the velocity of the refunds
// (an info-level warning), then far above the 5 % honest streams see, then at 60 %+ (the
// absolute rule). Without the velocity rule the flag opens later.
func TestRefundSpike(t *testing.T) {
	s := &streamCfg{ID: "refunds", Start: t0, End: t0 + 40*minute, Rate: constRate(0.5), Carrier: 0.3,
		Extra: refundFraud(t0+12*minute, t0+20*minute, 80, 75)}
	evs := build(5, s)
	flags := run(t, DefaultConfig(), evs, 1000, 10*minute)
	rs := flagsOf(flags, KindRefundSpike, "refunds")
	if len(rs) == 0 || len(rs) != len(flags) {
		t.Fatalf("want only refund_spike flags, got:%s", describeFlags(flags))
	}
	first, peak := rs[0], rs[len(rs)-1]
	if first.DetectedAt > t0+16*minute || !contains(first.Evidence.Fired, "refund_velocity") || first.Severity != SeverityInfo {
		t.Errorf("opened at +%ds on %v (%s), want within 4 min of the wave's start on its velocity, as info", (first.DetectedAt-t0)/1000, first.Evidence.Fired, first.Severity)
	}
	cfg := DefaultConfig()
	cfg.RefundSpike.VelocityWindow = 0
	cohortOnly := flagsOf(run(t, cfg, evs, 1000, 10*minute), KindRefundSpike, "refunds")
	if len(cohortOnly) == 0 || cohortOnly[0].DetectedAt <= first.DetectedAt || !contains(cohortOnly[0].Evidence.Fired, "refund_rate_vs_baseline") {
		t.Errorf("without velocity, want a later flag against the prior; got:%s", describeFlags(cohortOnly))
	} else {
		t.Logf("velocity opened the flag %d s before the cohort rules", (cohortOnly[0].DetectedAt-first.DetectedAt)/1000)
	}
	n, k := peak.Evidence.Signals["orders"], peak.Evidence.Signals["refunded_orders"]
	if n < 30 || k/n < 0.6 || peak.Evidence.Signals["refund_rate_lower_bound"] < 0.5 || !contains(peak.Evidence.Fired, "refund_rate") {
		t.Errorf("peak on %v of %v orders: %v %v", k, n, peak.Evidence.Fired, peak.Evidence.Signals)
	}
	for _, want := range []string{
		fmtInt(int64(k)) + " of " + fmtInt(int64(n)) + " orders placed in the last ",
		"within 10 min of the order", "refund_rate", "refund_velocity",
	} {
		if !strings.Contains(peak.Evidence.Summary, want) {
			t.Errorf("evidence %q lacks %q", peak.Evidence.Summary, want)
		}
	}
	if peak.WindowStart < t0+12*minute || peak.WindowStart > t0+13*minute {
		t.Errorf("window starts at +%ds, want at the first refunded order", (peak.WindowStart-t0)/1000)
	}
	if peak.Severity == SeverityInfo || peak.FlagID != first.FlagID {
		t.Errorf("one episode, raised to warning or critical:%s", describeFlags(rs))
	}
	t.Log(describeFlags(rs))
}

// A refund rate several times the stream's own baseline raises refund_spike even below the
// absolute 60 %: an hour of honest history (4 % refunded within 30 min), then half of the orders
// cancelled within minutes.
func TestRefundSpikeAgainstBaseline(t *testing.T) {
	s := &streamCfg{ID: "wave", Start: t0, End: t0 + 100*minute, Rate: constRate(3), Carrier: 0.3}
	g := newTraffic(3)
	g.honest(s)
	// From minute 60, half of the orders are cancelled within minutes (an extra refund of the
	// orders placed then that honest traffic did not refund already).
	refunded := make(map[string]bool)
	for _, ev := range g.evs {
		if ev.kind == schemas.KindRefund {
			refunded[ev.a] = true
		}
	}
	var wave []tev
	for _, ev := range g.evs {
		if ev.kind == schemas.KindOrder && ev.ts >= t0+60*minute && !refunded[ev.a] {
			wave = append(wave, ev)
		}
	}
	for i, o := range wave {
		if i%2 == 0 {
			g.refund(s, o.ts+minute+g.rng.Int64N(4*minute), o.a, o.b, o.amount)
		}
	}
	flags := run(t, DefaultConfig(), g.events(), 1000, 10*minute)
	rs := flagsOf(flags, KindRefundSpike, "wave")
	if len(rs) == 0 || len(rs) != len(flags) {
		t.Fatalf("want only refund_spike flags, got:%s", describeFlags(flags))
	}
	// First the velocity against the stream's own quick cancellations, then the relative rule
	// against its own refund rate.
	f := rs[0]
	if !contains(f.Evidence.Fired, "refund_velocity") || f.Evidence.Baseline["quick_refund_rate"] > 0.1 {
		t.Errorf("want velocity against the stream's own quick-refund rate, under 10 %%: %v %v", f.Evidence.Fired, f.Evidence.Baseline)
	}
	i := slices.IndexFunc(rs, func(f Flag) bool { return contains(f.Evidence.Fired, "refund_rate_vs_baseline") })
	if i < 0 {
		t.Fatalf("the relative rule never fired:%s", describeFlags(rs))
	}
	f = rs[i]
	if f.Evidence.Baseline["refund_rate"] > 0.1 || f.Evidence.Signals["refund_rate"] >= 0.6 {
		t.Errorf("want the relative rule against a baseline under 10 %%: %v %v", f.Evidence.Signals, f.Evidence.Baseline)
	}
	if !strings.Contains(f.Evidence.Summary, "this stream usually has") {
		t.Errorf("evidence lacks the baseline: %q", f.Evidence.Summary)
	}
	t.Log(describeFlags(rs[:i+1]))
}

// Few orders never page: 2 of 3 refunded within minutes, nor 15 of 19 (under min_orders), nor
// 8 of 20 (40 %: at least 22 % with 95 % confidence, short of the 25 % floor over the 5 % prior).
// The last is eight cancellations within minutes where 5 % would expect under one: the velocity
// rule notes it, at info severity, which pages nobody.
func TestRefundSpikeNeedsSamples(t *testing.T) {
	for _, c := range []struct {
		orders, refunded int
		info             bool
	}{{3, 2, false}, {19, 15, false}, {20, 8, true}} {
		s := &streamCfg{ID: "tiny", Start: t0, End: t0 + 30*minute, Rate: constRate(0),
			Extra: refundFraud(t0+5*minute, t0+10*minute, c.orders, c.refunded)}
		flags := run(t, DefaultConfig(), build(1, s), 100, 10*minute)
		for _, f := range flags {
			if !c.info || f.Severity != SeverityInfo || !slices.Equal(f.Evidence.Fired, []string{"refund_velocity"}) {
				t.Errorf("%d of %d refunded raised flags:%s", c.refunded, c.orders, describeFlags(flags))
				break
			}
		}
	}
}

// brushers adds `orders` orders by `buyers` buyers between from and to, all for the same amount.
func brushers(from, to int64, buyers, orders int, amount schemas.Money) func(g *traffic, s *streamCfg) {
	return func(g *traffic, s *streamCfg) {
		for i := range orders {
			at := from + (to-from)*int64(i)/int64(orders)
			g.order(s, at, "brusher-"+strconv.Itoa(i%buyers), "sku-brush", amount)
		}
	}
}

// Brushing — 5 buyers placing 40 orders of an identical amount — raises order_brushing, hidden in
// a stream's honest orders (heavy buyers with identical amounts) or alone (orders per buyer).
func TestOrderBrushing(t *testing.T) {
	for _, c := range []struct {
		name  string
		rate  float64
		fired string
	}{
		{"hidden", 2, "heavy_buyers"},
		{"alone", 0.001, "orders_per_buyer"},
	} {
		s := &streamCfg{ID: "brushed-" + c.name, Start: t0, End: t0 + 40*minute, Rate: constRate(c.rate), Carrier: 0.3,
			Extra: brushers(t0+10*minute, t0+30*minute, 5, 40, 4990)}
		flags := run(t, DefaultConfig(), build(9, s), 1000, 10*minute)
		ob := flagsOf(flags, KindOrderBrushing, s.ID)
		if len(ob) == 0 || len(ob) != len(flags) {
			t.Fatalf("%s: want only order_brushing flags, got:%s", c.name, describeFlags(flags))
		}
		peak := ob[len(ob)-1]
		if !contains(peak.Evidence.Fired, c.fired) || !contains(peak.Evidence.Fired, "identical_amounts") {
			t.Errorf("%s: fired %v, want %s and identical_amounts", c.name, peak.Evidence.Fired, c.fired)
		}
		if !strings.Contains(peak.Evidence.Summary, "exactly 49.90 CNY") || !strings.Contains(peak.Evidence.Summary, "5 buyers") {
			t.Errorf("%s: evidence %q", c.name, peak.Evidence.Summary)
		}
		t.Log(describeFlags(ob[:1]))
	}
}

// A flash sale — 300 orders from 280 buyers within 5 minutes, all at the sale price, on a busy
// stream — raises nothing; nor does one where 12 keen buyers order 5 times each at that price
// (heavy buyers, identical amounts, but the amount is everyone's sale price).
func TestFlashSaleRaisesNothing(t *testing.T) {
	for _, keen := range []int{0, 12} {
		s := &streamCfg{ID: "sale", Start: t0, End: t0 + 40*minute, Rate: constRate(8), Carrier: 0.3,
			Extra: func(g *traffic, s *streamCfg) {
				buy := func(buyer string) {
					at := t0 + 10*minute + g.rng.Int64N(5*minute)
					id := g.order(s, at, buyer, "sku-sale", 9900)
					if g.rng.Float64() < 0.1 { // honest refunds, some quick
						g.refund(s, at+2*minute+g.rng.Int64N(60*minute), id, buyer, 9900)
					}
				}
				for i := range 300 {
					buy("fan-" + strconv.Itoa(i%280))
				}
				for i := range keen * 5 {
					buy("keen-" + strconv.Itoa(i%keen))
				}
			}}
		if flags := run(t, DefaultConfig(), build(13, s), 1000, 10*minute); len(flags) != 0 {
			t.Errorf("flash sale with %d keen buyers raised flags:%s", keen, describeFlags(flags))
		}
	}
}

// One SKU refunded en masse stands out even when the stream's overall rate does not: 30 orders
// of one SKU, 26 refunded within minutes, among a busy stream's honest orders.
func TestRefundSpikePerSKU(t *testing.T) {
	s := &streamCfg{ID: "skus", Start: t0, End: t0 + 40*minute, Rate: constRate(3), Carrier: 0.3,
		Extra: func(g *traffic, s *streamCfg) {
			for i := range 30 {
				at := t0 + 10*minute + int64(i)*20*second
				buyer := "acct-" + strconv.Itoa(i)
				id := g.order(s, at, buyer, "sku-fake", 15900)
				if i%15 != 0 {
					g.refund(s, at+2*minute+g.rng.Int64N(3*minute), id, buyer, 15900)
				}
			}
		}}
	flags := run(t, DefaultConfig(), build(4, s), 1000, 10*minute)
	rs := flagsOf(flags, KindRefundSpike, "skus")
	if len(rs) == 0 || len(rs) != len(flags) {
		t.Fatalf("want only refund_spike flags, got:%s", describeFlags(flags))
	}
	f := rs[len(rs)-1]
	if !contains(f.Evidence.Fired, "sku_refund_rate") || contains(f.Evidence.Fired, "refund_rate") || !strings.Contains(f.Evidence.Summary, "SKU sku-fake: 28 of ") {
		t.Errorf("want the SKU named, not the stream's rate: %v %q", f.Evidence.Fired, f.Evidence.Summary)
	}
}

// Brushing from many accounts on two phones — 30 accounts that watched the stream on 2 devices,
// 40 orders — fires the rule over devices although orders per buyer look normal.
func TestOrderBrushingByDevice(t *testing.T) {
	s := &streamCfg{ID: "phones", Start: t0, End: t0 + 40*minute, Rate: constRate(1), Carrier: 0.3,
		Extra: func(g *traffic, s *streamCfg) {
			for i := range 30 {
				acct := "sock-" + strconv.Itoa(i)
				join := t0 + 8*minute + int64(i)*10*second
				g.viewer(s, join, schemas.ActionJoin, acct, g.id("sock-s"), "phone-"+strconv.Itoa(i%2), "100.64.1.7")
				g.order(s, join+time30s, acct, "sku-"+strconv.Itoa(i%7), prices[i%len(prices)])
				if i < 10 {
					g.order(s, join+2*time30s, acct, "sku-1", prices[(i+3)%len(prices)])
				}
			}
		}}
	flags := run(t, DefaultConfig(), build(6, s), 1000, 10*minute)
	ob := flagsOf(flags, KindOrderBrushing, "phones")
	if len(ob) == 0 {
		t.Fatalf("want order_brushing, got:%s", describeFlags(flags))
	}
	f := ob[len(ob)-1]
	if !contains(f.Evidence.Fired, "orders_per_device") || contains(f.Evidence.Fired, "orders_per_buyer") || !strings.Contains(f.Evidence.Summary, "came from 2 devices with 4 or more orders each") {
		t.Errorf("want the device rule: %v %q", f.Evidence.Fired, f.Evidence.Summary)
	}
	t.Log(describeFlags(ob[:1]))
}

const time30s = 30 * second

// sharedDeviceOrders adds `orders` orders between from and to by `accounts` accounts that
// joined the stream on `devices` devices (account i on device i % devices), each for amount(i).
func sharedDeviceOrders(prefix string, from, to int64, accounts, devices, orders int, amount func(i int) schemas.Money) func(g *traffic, s *streamCfg) {
	return func(g *traffic, s *streamCfg) {
		for a := range accounts {
			acct := prefix + "-acct-" + strconv.Itoa(a)
			g.viewer(s, from-30*second, schemas.ActionJoin, acct, g.id(prefix+"-s"), prefix+"-dev-"+strconv.Itoa(a%devices), "58.32.7."+strconv.Itoa(1+a))
		}
		for i := range orders {
			at := from + (to-from)*int64(i)/int64(orders)
			g.order(s, at, prefix+"-acct-"+strconv.Itoa(i%accounts), "sku-"+strconv.Itoa(i%20), amount(i))
		}
	}
}

// A ring's first orders — 6 accounts on 2 phones, one order a minute of one item at one price,
// hidden in a busy stream's honest orders — raise order_brushing on the shared devices within
// minutes, long before any account is heavy; without the rule the first flag comes far later.
// Honest households sharing a tablet (3 accounts, different items) and a flash sale bought from
// shared tablets at the price everyone pays raise nothing.
func TestOrderBrushingSharedDevices(t *testing.T) {
	same := func(int) schemas.Money { return 3400 }
	ring := &streamCfg{ID: "ring", Start: t0, End: t0 + 40*minute, Rate: constRate(2), Carrier: 0.3,
		Extra: sharedDeviceOrders("ring", t0+10*minute, t0+30*minute, 6, 2, 20, same)}
	evs := build(21, ring)
	ob := flagsOf(run(t, DefaultConfig(), evs, 1000, 10*minute), KindOrderBrushing, "ring")
	if len(ob) == 0 || !contains(ob[0].Evidence.Fired, "shared_devices") || ob[0].DetectedAt > t0+17*minute {
		t.Fatalf("want shared_devices within 7 min of the ring's first order:%s", describeFlags(ob))
	}
	if !strings.Contains(ob[0].Evidence.Summary, "accounts sharing 2 devices") || !strings.Contains(ob[0].Evidence.Summary, "exactly 34.00 CNY") {
		t.Errorf("evidence %q", ob[0].Evidence.Summary)
	}
	cfg := DefaultConfig()
	cfg.OrderBrushing.SharedDeviceOrders = 0
	if without := flagsOf(run(t, cfg, evs, 1000, 10*minute), KindOrderBrushing, "ring"); len(without) > 0 && without[0].DetectedAt <= ob[0].DetectedAt {
		t.Errorf("the other rules flag as early; the rule adds nothing:%s", describeFlags(without[:1]))
	}
	t.Log(describeFlags(ob[:1]))

	prices := []schemas.Money{1990, 2990, 4990, 9900, 12900, 19900, 29900}
	households := &streamCfg{ID: "households", Start: t0, End: t0 + 40*minute, Rate: constRate(2), Carrier: 0.3,
		Extra: sharedDeviceOrders("home", t0+10*minute, t0+30*minute, 3, 1, 8, func(i int) schemas.Money { return prices[i%len(prices)] })}
	sale := &streamCfg{ID: "sale-on-tablets", Start: t0, End: t0 + 40*minute, Rate: constRate(8), Carrier: 0.3,
		Extra: func(g *traffic, s *streamCfg) {
			sharedDeviceOrders("home", t0+10*minute, t0+15*minute, 9, 3, 12, func(int) schemas.Money { return 9900 })(g, s)
			for i := range 300 {
				g.order(s, t0+10*minute+g.rng.Int64N(5*minute), "fan-"+strconv.Itoa(i), "sku-sale", 9900)
			}
		}}
	for _, s := range []*streamCfg{households, sale} {
		if flags := run(t, DefaultConfig(), build(23, s), 1000, 10*minute); len(flags) != 0 {
			t.Errorf("%s raised flags:%s", s.ID, describeFlags(flags))
		}
	}
}
