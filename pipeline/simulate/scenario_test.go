package simulate

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

// evening is a Singles'-Eve start at about the evening peak (curve level ≈ 1).
var evening = time.Date(2025, 11, 10, 20, 30, 0, 0, shanghai())

// TestNoScenarioUnchanged pins the traffic of Configs without scenarios to hashes captured
// before scenarios existed: adding them must not change a byte. (Re-pinned once, on purpose, when
// households got shared devices: only device_id values changed, the message count did not.)
func TestNoScenarioUnchanged(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
		n    int
	}{
		{Config{Seed: 42, Start: sale.Add(-time.Minute), Duration: 2 * time.Minute, Streams: 20, Rate: 500, BadFraction: 0.01},
			"5857e08411bdbfda4be19d2ae5998c9986d9be8a1a98b0722498e03a0e31510b", 84669},
		{Config{Seed: 7, Start: sale.Add(-20 * time.Minute), Duration: 40 * time.Minute, Streams: 12, Rate: 200, BadFraction: 0.002,
			Scenarios: []string{}, ScenarioOnset: time.Minute, ScenarioDuration: time.Minute}, // scenario knobs, no scenario
			"77001da04a5b698e7b44bd19fde434de95cf3c7593ffee63652fdd771bd96eff", 576974},
	} {
		sum, n := digest(tc.cfg)
		if got := hex.EncodeToString(sum[:]); got != tc.want || n != tc.n {
			t.Errorf("seed %d: %d messages hashing to %s, want %d hashing to %s", tc.cfg.Seed, n, got, tc.n, tc.want)
		}
	}
}

func TestScenarioDeterminism(t *testing.T) {
	base := Config{Seed: 8, Start: evening, Duration: 12 * time.Minute, Streams: 10, Rate: 100, BadFraction: 0.01,
		Scenarios: []string{"all"}, ScenarioOnset: 2 * time.Minute, ScenarioDuration: 5 * time.Minute}
	want, n := digest(base)
	none := base
	none.Scenarios = nil
	if plain, m := digest(none); plain == want || m >= n {
		t.Fatalf("scenarios changed nothing: %d messages with, %d without", n, m)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		same bool
	}{
		{"same config", func(*Config) {}, true},
		{"names in any order, repeated, comma-separated", func(c *Config) {
			c.Scenarios = []string{"surge_flash_sale, refund_spike", "all", "refund_spike"}
		}, true},
		{"all spelled out", func(c *Config) { c.Scenarios = slices.Clone(scenarioNames()); slices.Reverse(c.Scenarios) }, true},
		{"other seed", func(c *Config) { c.Seed = 9 }, false},
		{"other onset", func(c *Config) { c.ScenarioOnset = 3 * time.Minute }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			if got, _ := digest(cfg); (got == want) != tc.same {
				t.Errorf("identical = %t, want %t", got == want, tc.same)
			}
		})
	}
}

// streamScenarios are the scenarios that take over a stream.
var streamScenarios = []string{ScenarioViewerInflationCount, ScenarioViewerInflationBots, ScenarioRefundSpike,
	ScenarioOrderBrushing, ScenarioSurgeCelebrity, ScenarioSurgeFlashSale}

// TestScenarioPrefixUnchanged checks that scenarios leave the traffic before their onset alone:
// the messages up to the onset are those of the same Config without scenarios, byte for byte.
func TestScenarioPrefixUnchanged(t *testing.T) {
	cfg := Config{Seed: 4, Start: evening, Duration: 8 * time.Minute, Streams: 10, Rate: 300, BadFraction: 0.01,
		Scenarios: streamScenarios, ScenarioOnset: 3 * time.Minute, ScenarioDuration: 4 * time.Minute}
	with := NewGenerator(cfg)
	for _, ep := range with.episodes {
		if ep.extended {
			// An extended stream lives longer than it would have, from the start.
			t.Fatalf("%s extends its stream: pick a seed whose targets outlive the episodes", ep.label.Scenario)
		}
	}
	plain := cfg
	plain.Scenarios = nil
	without := NewGenerator(plain)
	onset := evening.Add(cfg.ScenarioOnset).UnixMilli()
	for _, l := range with.Labels() {
		if l.Onset.UnixMilli() != onset {
			t.Fatalf("%s starts at %v, want %v", l.Scenario, l.Onset, time.UnixMilli(onset))
		}
	}
	var a, b Message
	n := 0
	for {
		okA, okB := with.Next(&a), without.Next(&b)
		if !okA || !okB {
			t.Fatalf("a run ended after %d messages", n)
		}
		if a.TS >= onset || b.TS >= onset {
			if a.TS < onset || b.TS < onset {
				t.Fatalf("message %d: at %d with scenarios, %d without", n, a.TS, b.TS)
			}
			break
		}
		if a.Kind != b.Kind || a.TS != b.TS || a.Bad != b.Bad || !bytes.Equal(a.Key, b.Key) || !bytes.Equal(a.Value, b.Value) {
			t.Fatalf("message %d before the onset differs:\nwith    %s\nwithout %s", n, a.Value, b.Value)
		}
		n++
	}
	if n < 10_000 {
		t.Errorf("only %d messages before the onset", n)
	}
}

// obsSession, obsOrder, obsCount and obsStream are what a run showed, per stream.
type obsSession struct {
	stream, viewer, device, ip string
	join, leave                int64 // leave 0: none seen
	beats                      []int64
	engages                    int
}

type obsOrder struct {
	stream, buyer, sku string
	ts, refundAt       int64 // refundAt 0: not refunded within the run
	amount             schemas.Money
}

type obsCount struct {
	ts       int64
	reported float64
	audience float64 // sessions heard from in the last 35 s
}

type obsStream struct {
	sessions []*obsSession
	orders   []*obsOrder
	engages  []int64
	counts   []obsCount
	heard    map[string]int64 // session → last event
}

// observed is a run's traffic, decoded and checked by checkInvariants.
type observed struct {
	start, end int64
	labels     []Label
	stats      Stats
	streams    map[string]*obsStream
}

// observe runs cfg and collects its traffic per stream; with strict, it checks the invariants
// of every message too (slower).
func observe(t *testing.T, cfg Config, strict bool) *observed {
	t.Helper()
	g := NewGenerator(cfg)
	o := &observed{start: g.start, end: g.end, labels: g.Labels(), streams: map[string]*obsStream{}}
	sessions := map[string]*obsSession{}
	orders := map[string]*obsOrder{}
	visit := func(d *decoded) {
		if d.Bad {
			return
		}
		h := d.ev.Header()
		st := o.streams[h.StreamID]
		if st == nil {
			st = &obsStream{heard: map[string]int64{}}
			o.streams[h.StreamID] = st
		}
		switch d.Kind {
		case schemas.KindViewer:
			v := &d.ev.Viewer
			switch v.Action {
			case schemas.ActionCount:
				audience := 0
				for _, seen := range st.heard {
					if seen >= v.TS-(beatMinMS+beatJitterMS+5_000) {
						audience++
					}
				}
				st.counts = append(st.counts, obsCount{v.TS, float64(v.ReportedViewers), float64(audience)})
				return
			case schemas.ActionJoin:
				ss := &obsSession{stream: v.StreamID, viewer: v.ViewerID, device: v.DeviceID, ip: v.IP, join: v.TS}
				sessions[v.SessionID] = ss
				st.sessions = append(st.sessions, ss)
			case schemas.ActionHeartbeat:
				ss := sessions[v.SessionID]
				ss.beats = append(ss.beats, v.TS)
			case schemas.ActionEngage:
				sessions[v.SessionID].engages++
				st.engages = append(st.engages, v.TS)
			case schemas.ActionLeave:
				sessions[v.SessionID].leave = v.TS
				delete(st.heard, v.SessionID)
				return
			}
			st.heard[v.SessionID] = max(st.heard[v.SessionID], v.TS)
		case schemas.KindOrder:
			od := &obsOrder{stream: h.StreamID, buyer: d.ev.Order.BuyerID, sku: d.ev.Order.SKUID, ts: h.TS, amount: d.ev.Order.Amount}
			orders[d.ev.Order.OrderID] = od
			st.orders = append(st.orders, od)
		case schemas.KindRefund:
			if od := orders[d.ev.Refund.OrderID]; od.refundAt == 0 {
				od.refundAt = h.TS
			}
		}
	}
	if strict {
		o.stats, _ = checkInvariants(t, cfg, visit)
	} else {
		o.stats = each(t, cfg, func(_ int, d *decoded) {
			if !d.Bad && d.err != nil {
				t.Fatalf("message does not decode: %v\n%s", d.err, d.Value)
			}
			visit(d)
		})
	}
	return o
}

// window is [lo, hi) in Unix ms.
type window struct{ lo, hi int64 }

func (w window) has(ts int64) bool         { return ts >= w.lo && ts < w.hi }
func (w window) minutes() float64          { return float64(w.hi-w.lo) / 60_000 }
func labelWindow(l Label) window           { return window{l.Onset.UnixMilli(), l.End.UnixMilli()} }
func (w window) shift(lo, hi int64) window { return window{w.lo + lo, w.hi + hi} }

func (st *obsStream) ordersIn(w window) []*obsOrder {
	var out []*obsOrder
	for _, o := range st.orders {
		if w.has(o.ts) {
			out = append(out, o)
		}
	}
	return out
}

func (st *obsStream) joinsIn(w window) []*obsSession {
	var out []*obsSession
	for _, s := range st.sessions {
		if w.has(s.join) {
			out = append(out, s)
		}
	}
	return out
}

func (st *obsStream) engagesIn(w window) int {
	n := 0
	for _, ts := range st.engages {
		if w.has(ts) {
			n++
		}
	}
	return n
}

// countMedian is the median of f over the displayed counts in w (0 if none).
func (st *obsStream) countMedian(w window, f func(c obsCount) float64) float64 {
	var xs []float64
	for _, c := range st.counts {
		if w.has(c.ts) {
			xs = append(xs, f(c))
		}
	}
	return median(xs)
}

func reported(c obsCount) float64 { return c.reported }
func audience(c obsCount) float64 { return c.audience }
func inflation(c obsCount) float64 {
	if c.audience == 0 {
		return 0
	}
	return c.reported / c.audience
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// refunded is the fraction of orders refunded within the run, and the median refund delay.
func refunded(orders []*obsOrder) (frac float64, delay time.Duration) {
	var delays []float64
	for _, o := range orders {
		if o.refundAt != 0 {
			delays = append(delays, float64(o.refundAt-o.ts))
		}
	}
	if len(orders) == 0 {
		return 0, 0
	}
	return float64(len(delays)) / float64(len(orders)), time.Duration(median(delays)) * time.Millisecond
}

// maxPerKey is the largest number of items sharing a key.
func maxPerKey[T any](items []T, key func(T) string) int {
	n := map[string]int{}
	best := 0
	for _, it := range items {
		k := key(it)
		n[k]++
		best = max(best, n[k])
	}
	return best
}

func distinct[T any](items []T, key func(T) string) int {
	set := map[string]bool{}
	for _, it := range items {
		set[key(it)] = true
	}
	return len(set)
}

func byDevice(s *obsSession) string { return s.device }
func byBuyer(o *obsOrder) string    { return o.buyer }

// TestScenarioSignatures checks that each scenario shows its signature on its labelled stream
// during its labelled window and not before or after, and that no other stream shows any.
func TestScenarioSignatures(t *testing.T) {
	cfg := Config{Seed: 21, Start: evening, Duration: 40 * time.Minute, Streams: 10, Rate: 250, Scenarios: streamScenarios}
	o := observe(t, cfg, false)
	if len(o.labels) != len(streamScenarios) {
		t.Fatalf("%d labels: %+v", len(o.labels), o.labels)
	}
	onset := evening.Add(defaultOnset)
	labelled := map[string]Label{}
	for _, l := range o.labels {
		id, _ := scenarioByName(l.Scenario)
		info := scenarioInfos[id]
		length := info.Duration
		if l.Scenario != info.Name || l.Kind != info.Kind || l.Fraud != info.Fraud || !l.Onset.Equal(onset) || !l.End.Equal(onset.Add(length)) {
			t.Errorf("label %+v, want %s (%q, fraud %t) over [%v, %v)", l, info.Name, info.Kind, info.Fraud, onset, onset.Add(length))
		}
		if _, dup := labelled[l.StreamID]; dup || o.streams[l.StreamID] == nil {
			t.Fatalf("label on stream %q: taken twice or not in the traffic", l.StreamID)
		}
		labelled[l.StreamID] = l
	}
	for _, l := range o.labels {
		t.Run(l.Scenario, func(t *testing.T) {
			st, w := o.streams[l.StreamID], labelWindow(l)
			// Before: after the audience live at Start has announced itself; after: once what
			// the scenario brought has gone (a celebrity's fans leave within a minute).
			before, after := window{o.start + warmJoinSpreadMS + beatMinMS + beatJitterMS, w.lo}, window{w.hi + 2*60_000, o.end}
			signatures[l.Scenario](t, l, st, w, before, after)
		})
	}
	// Nowhere else: no inflated counts, no device running many sessions, no refund spike, no
	// buyer ordering again and again.
	for id, st := range o.streams {
		l := labelled[id]
		all := window{o.start + warmJoinSpreadMS + beatMinMS + beatJitterMS, o.end}
		if l.Scenario != ScenarioViewerInflationCount && l.Scenario != ScenarioViewerInflationBots {
			checkRange(t, id+" displayed ÷ audience", st.countMedian(all, inflation), 0.9, 1.4)
		}
		if l.Kind != FraudViewerInflation && l.Kind != FraudOrderBrushing {
			if n := maxPerKey(st.sessions, byDevice); n > 8 { // viewers come back now and then
				t.Errorf("%s: a device joined %d times", id, n)
			}
		}
		if f, _ := refunded(st.orders); l.Kind != FraudRefundSpike && l.Kind != FraudOrderBrushing && len(st.orders) >= 20 && f > 0.25 {
			t.Errorf("%s: %.2f of %d orders refunded", id, f, len(st.orders))
		}
		if n := maxPerKey(st.orders, byBuyer); l.Scenario != ScenarioOrderBrushing && n > 3 {
			t.Errorf("%s: a buyer ordered %d times", id, n)
		}
	}
}

// signatures check a scenario's traffic on its stream st: during its window w, before and after.
var signatures = map[string]func(t *testing.T, l Label, st *obsStream, w, before, after window){
	ScenarioViewerInflationCount: func(t *testing.T, l Label, st *obsStream, w, before, after window) {
		// The displayed count is the real audience times the drawn inflation, only during w.
		want := l.Params["inflation"]
		checkRange(t, "displayed ÷ audience during", st.countMedian(w.shift(40_000, 0), inflation), 0.9*want, 1.1*want)
		checkRange(t, "displayed ÷ audience before", st.countMedian(before, inflation), 0.9, 1.4)
		checkRange(t, "displayed ÷ audience after", st.countMedian(after, inflation), 0.9, 1.4)
		for _, c := range st.counts {
			if r := inflation(c); !w.has(c.ts) && c.audience >= 50 && r > 2 {
				t.Errorf("count at %v outside the window is %.1f × the audience", time.UnixMilli(c.ts), r)
			}
		}
	},

	ScenarioViewerInflationBots: func(t *testing.T, l Label, st *obsStream, w, before, after window) {
		p := l.Params
		joins := st.joinsIn(w)
		perDevice := map[string]int{}
		for _, s := range joins {
			perDevice[s.device]++
		}
		var bots []*obsSession
		botIDs, nets := map[string]bool{}, map[string]bool{}
		for _, s := range joins {
			if perDevice[s.device] >= 10 {
				bots = append(bots, s)
				botIDs[s.viewer] = true
				nets[s.ip[:strings.LastIndexByte(s.ip, '.')]] = true
			}
		}
		// Thousands of sessions from the farm's few devices and /24s, every one inside w.
		if want := int(p["bots_per_wave"] * p["waves"]); len(bots) != want || len(bots) < 2000 {
			t.Errorf("%d bot sessions, want %d (thousands)", len(bots), want)
		}
		devices := map[string]bool{}
		for _, s := range bots {
			devices[s.device] = true
		}
		if len(devices) != int(p["devices"]) || len(devices) < 20 || len(devices) > 50 || !sameSet(devices, l.Devices) {
			t.Errorf("bots on %d devices, want %v (20–50): %v", len(devices), p["devices"], l.Devices)
		}
		labelledNets := map[string]bool{}
		for _, n := range l.Networks {
			labelledNets[strings.TrimSuffix(n, ".0/24")] = true
		}
		if len(nets) != int(p["ip_ranges"]) || len(nets) > 3 || !maps.Equal(nets, labelledNets) {
			t.Errorf("bots from /24s %v, want %v (1–3)", nets, l.Networks)
		}
		// Synchronized: each wave joins within its burst (a minute or two); dwell within ±2 s.
		dwell, burst := int64(math.Round(p["dwell_s"]*1000)), int64(math.Round(p["burst_s"]*1000))
		var dwells []float64
		missing := 0
		for _, s := range bots {
			wave := (s.join - w.lo) / dwell
			if off := s.join - w.lo - wave*dwell; off >= burst || burst > 120_000 {
				t.Fatalf("bot joined %d ms into its wave, burst %d ms", off, burst)
			}
			switch {
			case s.leave == 0:
				missing++ // the leave was spoiled (Config.BadFraction)
			case !w.has(s.leave):
				t.Fatalf("bot session %+v leaves outside the window", *s)
			default:
				dwells = append(dwells, float64(s.leave-s.join))
			}
			if s.engages != 0 {
				t.Fatalf("bot engages: %+v", *s)
			}
			for i, b := range s.beats {
				prev := s.join
				if i > 0 {
					prev = s.beats[i-1]
				}
				if (b-prev)%int64(math.Round(p["heartbeat_s"]*1000)) != 0 { // (a multiple: some heartbeats were spoiled)
					t.Fatalf("bot heartbeat after %d ms, want every %v s", b-prev, p["heartbeat_s"])
				}
			}
			if p["heartbeat_s"] > 0 && len(s.beats) < int(dwell/int64(math.Round(p["heartbeat_s"]*1000)))-2 {
				t.Fatalf("bot with heartbeat every %v s has %d", p["heartbeat_s"], len(s.beats))
			}
		}
		if missing > len(bots)/100 {
			t.Errorf("%d of %d bot sessions without a leave", missing, len(bots))
		}
		slices.Sort(dwells)
		if lo, hi := dwells[0], dwells[len(dwells)-1]; hi-lo > 2*botDwellJitterMS || hi > float64(dwell) {
			t.Errorf("bot dwell from %.0f to %.0f ms, want within 4 s below %d", lo, hi, dwell)
		}
		// The displayed count rises with them; orders do not.
		if b, d := st.countMedian(before, reported), st.countMedian(w.shift(burst, 0), reported); d < b+0.8*p["bots_per_wave"] {
			t.Errorf("displayed count %.0f before, %.0f during, with %v bots a wave", b, d, p["bots_per_wave"])
		}
		for _, od := range st.orders {
			if botIDs[od.buyer] {
				t.Fatalf("bot account %s ordered", od.buyer)
			}
		}
		perDisplayed := func(ww window) float64 {
			return float64(len(st.ordersIn(ww))) / ww.minutes() / st.countMedian(ww, reported)
		}
		outside := (perDisplayed(before)*before.minutes() + perDisplayed(after)*after.minutes()) / (before.minutes() + after.minutes())
		checkRange(t, "orders per displayed viewer during ÷ outside", perDisplayed(w.shift(burst, 0))/outside, 0, 0.5)
		// Before and after: one device, one viewer.
		for _, ww := range []window{before, after} {
			if n := maxPerKey(st.joinsIn(ww), byDevice); n > 3 {
				t.Errorf("outside the window a device joined %d times", n)
			}
		}
	},

	ScenarioRefundSpike: func(t *testing.T, l Label, st *obsStream, w, before, after window) {
		// 60–80 % of the window's orders refunded, within minutes.
		during := st.ordersIn(w)
		if len(during) < 12 {
			t.Fatalf("only %d orders during the spike", len(during))
		}
		want := l.Params["refund_rate"]
		frac, delay := refunded(during)
		checkRange(t, "refunded during", frac, max(want-0.2, 0.45), min(want+0.2, 0.95))
		if delay > 6*time.Minute {
			t.Errorf("median refund delay %v, want minutes", delay)
		}
		for _, od := range during {
			if od.refundAt != 0 && od.refundAt-od.ts > spikeMaxRefundMS {
				t.Errorf("refund %v after its order", time.Duration(od.refundAt-od.ts)*time.Millisecond)
			}
		}
		for _, ww := range []window{before, after} {
			if f, _ := refunded(st.ordersIn(ww)); f > 0.2 {
				t.Errorf("outside the window %.2f of %d orders refunded", f, len(st.ordersIn(ww)))
			}
		}
	},

	ScenarioOrderBrushing: func(t *testing.T, l Label, st *obsStream, w, before, after window) {
		p := l.Params
		// A handful of accounts, each ordering again and again, on a device or three of one
		// /24, one item at (nearly) one price, 30–80 orders an hour, many refunded.
		ring := map[string]bool{}
		for _, b := range l.Buyers {
			ring[b] = true
		}
		if len(ring) != int(p["accounts"]) || len(ring) < 3 || len(ring) > 8 {
			t.Fatalf("ring of %d accounts %v, want %v (3–8)", len(ring), l.Buyers, p["accounts"])
		}
		var orders []*obsOrder
		for _, od := range st.orders {
			if ring[od.buyer] {
				if !w.has(od.ts) {
					t.Errorf("ring order at %v, outside the window", time.UnixMilli(od.ts))
				}
				orders = append(orders, od)
			}
		}
		if len(orders) != int(p["orders"]) {
			t.Fatalf("%d ring orders, want %v", len(orders), p["orders"])
		}
		checkRange(t, "ring orders per hour", float64(len(orders))/w.minutes()*60, 30, 81)
		perBuyer := map[string]int{}
		for _, od := range orders {
			perBuyer[od.buyer]++
		}
		for b := range ring {
			if perBuyer[b] < 2 {
				t.Errorf("ring account %s ordered %d times", b, perBuyer[b])
			}
		}
		// Blind: the window's buyers who order one item twice at (nearly) one price are the ring.
		var last = map[string]*obsOrder{}
		repeats := map[string]bool{}
		for _, od := range st.ordersIn(w) {
			if prev := last[od.buyer]; prev != nil && prev.sku == od.sku && max(od.amount-prev.amount, prev.amount-od.amount) <= 100 {
				repeats[od.buyer] = true
			}
			last[od.buyer] = od
		}
		if !maps.Equal(repeats, ring) {
			t.Errorf("buyers repeating an order: %v, ring %v", slices.Sorted(maps.Keys(repeats)), l.Buyers)
		}
		devices := map[string]bool{}
		for _, s := range st.sessions {
			if ring[s.viewer] {
				devices[s.device] = true
				if !w.has(s.join) || !w.has(s.leave) || len(s.beats) == 0 {
					t.Errorf("ring session %+v: outside the window or no heartbeats", *s)
				}
				if !strings.HasPrefix(s.ip, strings.TrimSuffix(l.Networks[0], "0/24")) {
					t.Errorf("ring session from %s, outside %v", s.ip, l.Networks)
				}
			}
		}
		if len(devices) != len(l.Devices) || len(devices) > 3 {
			t.Errorf("ring on devices %v, labelled %v", slices.Collect(maps.Keys(devices)), l.Devices)
		}
		price := schemas.Money(math.Round(p["unit_price"] * 100))
		exact := 0
		for _, od := range orders {
			if od.sku != orders[0].sku || od.amount < price-50 || od.amount > price+50 {
				t.Errorf("ring order of %s at %s, want %s at %s ± 0.50", od.sku, od.amount, orders[0].sku, price)
			}
			if od.amount == price {
				exact++
			}
		}
		checkRange(t, "ring orders at exactly the price", float64(exact)/float64(len(orders)), 0.5, 1)
		var early []*obsOrder // orders with 20 minutes left for their refund
		for _, od := range orders {
			if od.ts <= after.hi-20*60_000 {
				early = append(early, od)
			}
		}
		if f, _ := refunded(early); len(early) >= 5 && f < 0.25 {
			t.Errorf("%.2f of the ring's %d early orders refunded within the run", f, len(early))
		} else if len(early) < 5 {
			t.Logf("the run ends too soon after the ring's orders to check their refunds")
		}
		// Outside the window no buyer repeats.
		for _, ww := range []window{before, after} {
			if n := maxPerKey(st.ordersIn(ww), byBuyer); n > 2 {
				t.Errorf("outside the window a buyer ordered %d times", n)
			}
		}
	},

	ScenarioSurgeCelebrity: func(t *testing.T, l Label, st *obsStream, w, before, after window) {
		// The real audience triples (after the rush), with engagement and orders in proportion.
		b := st.countMedian(before, audience)
		ratio := st.countMedian(w.shift(90_000, 0), audience) / b
		checkRange(t, "audience during ÷ before", ratio, 2.4, 3.6)
		checkRange(t, "audience after ÷ before", st.countMedian(after, audience)/b, 0.7, 1.4)
		checkRange(t, "displayed ÷ audience during", st.countMedian(w, inflation), 0.9, 1.4)
		perMin := func(n int, ww window) float64 { return float64(n) / ww.minutes() }
		engages := perMin(st.engagesIn(w.shift(90_000, 0)), w.shift(90_000, 0)) / perMin(st.engagesIn(before), before)
		checkRange(t, "engagement ratio ÷ audience ratio", engages/ratio, 0.7, 1.4)
		outside := window{before.lo, before.hi + after.hi - after.lo} // as long as before and after together
		outsideOrders, outsideJoins := len(st.ordersIn(before))+len(st.ordersIn(after)), len(st.joinsIn(before))+len(st.joinsIn(after))
		orders := perMin(len(st.ordersIn(w)), w) / perMin(outsideOrders, outside)
		checkRange(t, "orders per minute during ÷ outside", orders, 1.5, 10)
		joins := st.joinsIn(w)
		conversion := float64(len(st.ordersIn(w))) / float64(len(joins)) / (float64(outsideOrders) / float64(outsideJoins))
		checkRange(t, "orders per join during ÷ outside", conversion, 0.4, 2.5)
		// Real viewers: their own devices, jittered heartbeats, natural dwell.
		checkRange(t, "distinct devices per join", float64(distinct(joins, byDevice))/float64(len(joins)), 0.9, 1)
		var dwells []float64
		for _, s := range joins {
			if s.leave != 0 {
				dwells = append(dwells, float64(s.leave-s.join))
			}
			for i := 1; i < len(s.beats); i++ {
				if gap := s.beats[i] - s.beats[i-1]; gap < beatMinMS || gap > beatMinMS+beatJitterMS {
					t.Fatalf("heartbeat gap %d ms", gap)
				}
			}
		}
		slices.Sort(dwells)
		checkRange(t, "dwell quartile spread (s)", (dwells[len(dwells)*3/4]-dwells[len(dwells)/4])/1000, 60, 1800)
	},

	ScenarioSurgeFlashSale: func(t *testing.T, l Label, st *obsStream, w, before, after window) {
		// A burst of orders from many distinct buyers on their own devices, mostly of the flash
		// item; refunds as usual.
		during := st.ordersIn(w)
		if len(during) < int(l.Params["buyers"]) || len(during) < 40 {
			t.Fatalf("%d orders in the sale, want ≥ %v", len(during), l.Params["buyers"])
		}
		checkRange(t, "distinct buyers per order", float64(distinct(during, byBuyer))/float64(len(during)), 0.95, 1)
		flash := 0
		for _, od := range during {
			if od.amount%schemas.Money(l.Params["flash_price"]*100+0.5) == 0 {
				flash++
			}
		}
		checkRange(t, "orders at the flash price", float64(flash)/float64(len(during)), 0.7, 1)
		outside := float64(len(st.ordersIn(before))+len(st.ordersIn(after))) / (before.minutes() + after.minutes())
		if r := float64(len(during)) / w.minutes() / outside; r < 5 {
			t.Errorf("orders per minute during the sale %.1f × outside", r)
		}
		checkRange(t, "orders per minute after ÷ before", float64(len(st.ordersIn(after)))/after.minutes()/(float64(len(st.ordersIn(before)))/before.minutes()), 0, 2.5)
		buyers := map[string]bool{}
		for _, od := range during {
			buyers[od.buyer] = true
		}
		var buyerSessions []*obsSession
		for _, s := range st.sessions {
			if buyers[s.viewer] && s.join < w.hi {
				buyerSessions = append(buyerSessions, s)
			}
		}
		checkRange(t, "distinct devices per buyer session", float64(distinct(buyerSessions, byDevice))/float64(len(buyerSessions)), 0.95, 1)
		if f, _ := refunded(during); f > 0.2 {
			t.Errorf("%.2f of the sale's orders refunded", f)
		}
	},
}

func sameSet(set map[string]bool, list []string) bool {
	if len(set) != len(list) {
		return false
	}
	for _, x := range list {
		if !set[x] {
			return false
		}
	}
	return true
}

// TestScenarioAll runs every scenario at once, the midnight surge included: the run moves to
// just before midnight, every message keeps the contract's invariants, each fraud shows its
// signature on its own stream, and the midnight surge lifts every stream without any.
func TestScenarioAll(t *testing.T) {
	cfg := Config{Seed: 3, Start: sale.Add(15 * time.Hour), Duration: 30 * time.Minute, Streams: 10, Rate: 60,
		BadFraction: 0.002, Scenarios: []string{ScenarioAll}}
	o := observe(t, cfg, true)
	if want := sale.Add(-defaultOnset).UnixMilli(); o.start != want {
		t.Fatalf("run starts at %v, want %v", time.UnixMilli(o.start), time.UnixMilli(want))
	}
	if len(o.labels) != int(numScenarios) {
		t.Fatalf("%d labels, want %d", len(o.labels), numScenarios)
	}
	fraud, surge := map[string]bool{}, map[string]bool{}
	labelled := map[string]Label{}
	for _, l := range o.labels {
		if l.Scenario == ScenarioSurgeMidnight {
			if l.StreamID != "" || l.KOLID != "" || l.Fraud || l.Kind != "" || !l.Onset.Equal(sale) || !l.End.Equal(sale.Add(25*time.Minute)) {
				t.Errorf("midnight label %+v", l)
			}
			continue
		}
		if fraud[l.StreamID] || surge[l.StreamID] || o.streams[l.StreamID] == nil {
			t.Errorf("%s on stream %q: taken twice or not in the traffic", l.Scenario, l.StreamID)
		}
		if l.Fraud {
			fraud[l.StreamID] = true
		} else {
			surge[l.StreamID] = true
		}
		labelled[l.StreamID] = l
	}
	if len(fraud) != 4 || len(surge) != 2 {
		t.Errorf("%d fraud and %d surge streams, want 4 and 2", len(fraud), len(surge))
	}
	for _, l := range o.labels {
		if !l.Fraud {
			continue
		}
		t.Run(l.Scenario, func(t *testing.T) {
			w := labelWindow(l)
			before, after := window{o.start + warmJoinSpreadMS + beatMinMS + beatJitterMS, w.lo}, window{w.hi + 2*60_000, o.end}
			signatures[l.Scenario](t, l, o.streams[l.StreamID], w, before, after)
		})
	}
	// The sale starts on every stream: far more viewers join in the minutes after midnight, yet
	// the unlabelled streams stay honest.
	mid := sale.UnixMilli()
	pre, post := window{mid - 3*60_000, mid}, window{mid, mid + 3*60_000}
	var joinsPre, joinsPost, up, streams int
	for id, st := range o.streams {
		if _, ok := labelled[id]; ok {
			continue
		}
		a, b := len(st.joinsIn(pre)), len(st.joinsIn(post))
		joinsPre, joinsPost = joinsPre+a, joinsPost+b
		if a >= 20 {
			streams++
			if b > 2*a {
				up++
			}
		}
		surgeW := window{mid, mid + 25*60_000}
		if r := st.countMedian(surgeW.shift(60_000, 0), inflation); r != 0 { // 0: no audience
			checkRange(t, id+" displayed ÷ audience in the surge", r, 0.9, 1.4)
		}
		if n := maxPerKey(st.joinsIn(surgeW), byDevice); n > 4 {
			t.Errorf("%s: a device joined %d times in the surge", id, n)
		}
		if f, _ := refunded(st.ordersIn(surgeW)); len(st.ordersIn(surgeW)) >= 20 && f > 0.25 {
			t.Errorf("%s: %.2f of the surge's orders refunded", id, f)
		}
	}
	checkRange(t, "joins in the 3 minutes after midnight ÷ before", float64(joinsPost)/float64(joinsPre), 2.5, 7)
	if streams < 2 || up < streams*3/4 {
		t.Errorf("joins doubled at midnight on %d of %d streams", up, streams)
	}
}

func TestParseScenarios(t *testing.T) {
	got, err := ParseScenarios("surge_flash_sale, refund_spike", "", "refund_spike")
	if want := []string{ScenarioRefundSpike, ScenarioSurgeFlashSale}; err != nil || !slices.Equal(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	if got, err := ParseScenarios("order_brushing,all"); err != nil || !slices.Equal(got, scenarioNames()) || len(got) != len(Scenarios()) {
		t.Errorf("all: %v, %v", got, err)
	}
	if got, err := ParseScenarios(); err != nil || got != nil {
		t.Errorf("nothing: %v, %v", got, err)
	}
	if _, err := ParseScenarios("refund_spike,bot_farm", "Surge_Midnight"); err == nil ||
		!strings.Contains(err.Error(), `"bot_farm"`) || !strings.Contains(err.Error(), `"Surge_Midnight"`) {
		t.Errorf("unknown names: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewGenerator accepted an unknown scenario")
		}
	}()
	NewGenerator(Config{Start: evening, Scenarios: []string{"bot_farm"}})
}

// TestScenarioLabels checks each scenario's label on its own: its fields, its window (default,
// configured, or squeezed into a short run), and that Labels returns copies.
func TestScenarioLabels(t *testing.T) {
	for _, info := range Scenarios() {
		t.Run(info.Name, func(t *testing.T) {
			g := NewGenerator(Config{Seed: 1, Start: evening, Duration: time.Hour, Streams: 5, Rate: 100, Scenarios: []string{info.Name}})
			labels := g.Labels()
			if len(labels) != 1 {
				t.Fatalf("%d labels", len(labels))
			}
			l := labels[0]
			onset, end := evening.Add(defaultOnset), evening.Add(defaultOnset+info.Duration)
			if info.Name == ScenarioSurgeMidnight {
				onset, end = sale.Add(-24*time.Hour), sale.Add(-24*time.Hour+30*time.Minute) // the last midnight
				if !g.cfg.Start.Equal(onset.Add(-defaultOnset)) {
					t.Errorf("run starts at %v, want 5 min before %v", g.cfg.Start, onset)
				}
			}
			if l.Scenario != info.Name || l.Kind != info.Kind || l.Fraud != info.Fraud || !l.Onset.Equal(onset) || !l.End.Equal(end) ||
				l.Onset.Location() != time.UTC {
				t.Errorf("label %+v, want %+v over [%v, %v) in UTC", l, info, onset, end)
			}
			if fraud := info.Kind != ""; fraud != info.Fraud || (info.Kind != "" && info.Kind != FraudViewerInflation &&
				info.Kind != FraudRefundSpike && info.Kind != FraudOrderBrushing) {
				t.Errorf("kind %q, fraud %t", info.Kind, info.Fraud)
			}
			if (l.StreamID == "") != (info.Name == ScenarioSurgeMidnight) || (l.StreamID != "" && (l.KOLID == "" || l.Platform == "")) {
				t.Errorf("stream %q, kol %q, platform %q", l.StreamID, l.KOLID, l.Platform)
			}
			if l.Params == nil && info.Name != ScenarioSurgeMidnight {
				t.Error("no params")
			}
			if hasIDs := len(l.Devices) > 0 && len(l.Networks) > 0; hasIDs != (info.Name == ScenarioViewerInflationBots || info.Name == ScenarioOrderBrushing) ||
				(len(l.Buyers) > 0) != (info.Name == ScenarioOrderBrushing) {
				t.Errorf("devices %v, networks %v, buyers %v", l.Devices, l.Networks, l.Buyers)
			}
			pristine := g.Labels()[0]
			for k := range l.Params {
				l.Params[k] = -1
			}
			for _, ids := range [][]string{l.Devices, l.Networks, l.Buyers} {
				for i := range ids {
					ids[i] = ""
				}
			}
			if got := g.Labels()[0]; !reflect.DeepEqual(got, pristine) {
				t.Errorf("Labels shares its maps or slices: %+v", got)
			}
		})
	}
	for _, tc := range []struct {
		name       string
		cfg        Config
		onset, end time.Duration // after Start
	}{
		{"configured", Config{ScenarioOnset: 2 * time.Minute, ScenarioDuration: 7 * time.Minute, Duration: time.Hour}, 2 * time.Minute, 9 * time.Minute},
		{"at the start", Config{ScenarioOnset: -1, Duration: time.Hour}, 0, 15 * time.Minute},
		{"squeezed into the run", Config{Duration: 10 * time.Minute}, 2*time.Minute + 30*time.Second, 10 * time.Minute},
	} {
		tc.cfg.Start, tc.cfg.Scenarios = evening, []string{ScenarioSurgeCelebrity}
		l := NewGenerator(tc.cfg).Labels()[0]
		if !l.Onset.Equal(evening.Add(tc.onset)) || !l.End.Equal(evening.Add(tc.end)) {
			t.Errorf("%s: [%v, %v), want [%v, %v)", tc.name, l.Onset, l.End, evening.Add(tc.onset), evening.Add(tc.end))
		}
	}
	// surge_midnight keeps a start whose midnight is in the first half of the run.
	for _, start := range []time.Time{sale, sale.Add(-10 * time.Minute)} {
		g := NewGenerator(Config{Start: start, Duration: 30 * time.Minute, Scenarios: []string{ScenarioSurgeMidnight}})
		if !g.cfg.Start.Equal(start) || !g.Labels()[0].Onset.Equal(sale) {
			t.Errorf("start %v moved to %v, midnight at %v", start, g.cfg.Start, g.Labels()[0].Onset)
		}
	}
	// Too few streams for the scenarios: there are as many as they need.
	g := NewGenerator(Config{Start: evening, Streams: 2, Scenarios: []string{ScenarioAll}})
	streams := map[string]bool{}
	for _, l := range g.Labels() {
		streams[l.StreamID] = true
	}
	if g.cfg.Streams != len(streamScenarios) || len(streams) != len(streamScenarios)+1 { // +1: midnight's ""
		t.Errorf("%d streams, %d labelled", g.cfg.Streams, len(streams))
	}
}

// TestScenarioTiny checks that episodes too short to mean much still run by the rules.
func TestScenarioTiny(t *testing.T) {
	for _, length := range []time.Duration{time.Millisecond, time.Second, 20 * time.Second} {
		cfg := Config{Seed: 1, Start: evening, Duration: time.Minute, Streams: 8, Rate: 30, ScenarioOnset: 10 * time.Second,
			ScenarioDuration: length, Scenarios: []string{ScenarioAll}}
		o := observe(t, cfg, true)
		for _, l := range o.labels {
			if l.StreamID == "" {
				continue
			}
			w := labelWindow(l)
			for _, s := range o.streams[l.StreamID].sessions {
				// The sessions a scenario scripts come and go within its window.
				if s.device != "" && slices.Contains(l.Devices, s.device) && (!w.has(s.join) || (s.leave != 0 && !w.has(s.leave))) {
					t.Errorf("%s of %v: session %+v outside [%v, %v)", l.Scenario, length, *s, l.Onset, l.End)
					break
				}
			}
		}
	}
}

// TestScenarioExtendsStreams checks that a scenario whose stream was about to end keeps it on
// air through the episode and a while after, with its audience watching on.
func TestScenarioExtendsStreams(t *testing.T) {
	cfg := Config{Seed: 2, Start: evening, Duration: 40 * time.Minute, Streams: 6, Rate: 60, Disorder: -1,
		Scenarios: streamScenarios, ScenarioDuration: 20 * time.Minute}
	g := NewGenerator(cfg)
	extended := 0
	for _, ep := range g.episodes {
		if ep.extended {
			extended++
		}
	}
	if extended == 0 {
		t.Fatal("no stream extended: pick a seed whose streams end sooner")
	}
	o := observe(t, cfg, false)
	for _, l := range o.labels {
		st := o.streams[l.StreamID]
		last := int64(0)
		for _, c := range st.counts {
			last = max(last, c.ts)
		}
		if last < l.End.UnixMilli()+streamTailMS-countEveryMS-countJitterMS {
			t.Errorf("%s: %s counts until %v, the episode ends at %v", l.Scenario, l.StreamID, time.UnixMilli(last), l.End)
		}
		// No mass exodus while on air: at most a few percent of the audience leave in any 15 s.
		leaves := map[int64]int{}
		for _, s := range st.sessions {
			if s.leave != 0 && s.leave < l.End.UnixMilli()+streamTailMS {
				leaves[s.leave/15_000]++
			}
		}
		peak := 0.0
		for _, c := range st.counts {
			peak = max(peak, c.audience)
		}
		for bucket, n := range leaves {
			if l.Scenario != ScenarioViewerInflationBots && n > 20 && float64(n) > 0.25*peak {
				t.Errorf("%s: %d of at most %.0f viewers leave at %v", l.Scenario, n, peak, time.UnixMilli(bucket*15_000))
			}
		}
	}
}

func TestWriteLabels(t *testing.T) {
	labels := NewGenerator(Config{Seed: 3, Start: evening, Duration: time.Hour, Streams: 10, Scenarios: []string{ScenarioAll}}).Labels()
	var buf bytes.Buffer
	if err := WriteLabels(&buf, labels); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(labels) {
		t.Fatalf("%d lines for %d labels:\n%s", len(lines), len(labels), buf.String())
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		for _, k := range []string{"scenario", "kind", "fraud", "stream_id", "kol_id", "onset", "end"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d lacks %q: %s", i, k, line)
			}
		}
	}
	// surge_midnight moved the run to 5 minutes before the last midnight in Shanghai.
	if !strings.HasPrefix(lines[0], `{"scenario":"viewer_inflation_count","kind":"viewer_inflation","fraud":true,"stream_id":"s-`) ||
		!strings.Contains(lines[0], `"onset":"2025-11-09T16:00:00Z","end":"2025-11-09T16:10:00Z","params":{"inflation":`) {
		t.Errorf("first line: %s", lines[0])
	}
	back, err := ReadLabels(&buf)
	if err != nil || !reflect.DeepEqual(back, labels) {
		t.Errorf("read back %v (%v)\nwrote     %v", back, err, labels)
	}
	if _, err := ReadLabels(strings.NewReader(lines[0] + "\n{")); err == nil {
		t.Error("a truncated line reads")
	}
}

// TestScenarioCopies: with ScenarioCopies each scenario takes over that many streams, each
// episode with a label of its own; one midnight surge whatever the copies.
func TestScenarioCopies(t *testing.T) {
	cfg := Config{Seed: 3, Start: evening, Duration: 10 * time.Minute, Streams: 4, Rate: 200, ScenarioOnset: time.Minute,
		Scenarios: []string{ScenarioViewerInflationBots, ScenarioRefundSpike, ScenarioSurgeMidnight}, ScenarioCopies: 3}
	o := observe(t, cfg, true)
	perScenario := map[string]int{}
	streams := map[string]bool{}
	for _, l := range o.labels {
		perScenario[l.Scenario]++
		if l.StreamID != "" {
			if streams[l.StreamID] {
				t.Errorf("stream %s takes two episodes", l.StreamID)
			}
			streams[l.StreamID] = true
		}
	}
	want := map[string]int{ScenarioViewerInflationBots: 3, ScenarioRefundSpike: 3, ScenarioSurgeMidnight: 1}
	if !maps.Equal(perScenario, want) {
		t.Fatalf("episodes per scenario %v, want %v", perScenario, want)
	}
}
