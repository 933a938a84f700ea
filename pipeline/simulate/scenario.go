package simulate

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

// Scenario names, for Config.Scenarios.
const (
	ScenarioViewerInflationCount = "viewer_inflation_count"
	ScenarioViewerInflationBots  = "viewer_inflation_bots"
	ScenarioRefundSpike          = "refund_spike"
	ScenarioOrderBrushing        = "order_brushing"
	ScenarioSurgeMidnight        = "surge_midnight"
	ScenarioSurgeCelebrity       = "surge_celebrity"
	ScenarioSurgeFlashSale       = "surge_flash_sale"
	// ScenarioAll selects every scenario at once, each fraud and stream surge on a stream of
	// its own.
	ScenarioAll = "all"
)

// Fraud kinds, the Label.Kind of fraud scenarios (legitimate surges have none).
const (
	FraudViewerInflation = "viewer_inflation"
	FraudRefundSpike     = "refund_spike"
	FraudOrderBrushing   = "order_brushing"
)

// ScenarioInfo describes one scenario.
type ScenarioInfo struct {
	Name     string
	Kind     string        // the fraud kind, "" for a legitimate surge
	Fraud    bool          // a detector should flag it
	Duration time.Duration // default length of the episode
	About    string        // one line on what it injects
}

// scenarioID indexes scenarioInfos; scenarios are planned in this order.
type scenarioID uint8

const (
	scCountInflation scenarioID = iota
	scBotInflation
	scRefundSpike
	scOrderBrushing
	scMidnight
	scCelebrity
	scFlashSale
	numScenarios
)

// midnightSurgeMS is how long the label of surge_midnight lasts: the curve's surge is down to
// about 2 % of its peak after half an hour.
const midnightSurgeMS = 30 * 60_000

var scenarioInfos = [numScenarios]ScenarioInfo{
	{ScenarioViewerInflationCount, FraudViewerInflation, true, 10 * time.Minute,
		"one stream's displayed count (action=count) is ×5–×20 its real concurrent sessions"},
	{ScenarioViewerInflationBots, FraudViewerInflation, true, 10 * time.Minute,
		"a bot farm joins one stream: thousands of sessions from 20–50 devices and 1–3 /24s, in synchronized bursts, " +
			"no or machine-regular heartbeats, dwell ±2 s, no engagement or orders"},
	{ScenarioRefundSpike, FraudRefundSpike, true, 10 * time.Minute,
		"60–80 % of the orders placed on one stream are refunded within minutes"},
	{ScenarioOrderBrushing, FraudOrderBrushing, true, 20 * time.Minute,
		"3–8 buyer accounts on 1–3 devices place 30–80 orders an hour of (near-)identical amounts on one stream, many refunded"},
	{ScenarioSurgeMidnight, "", false, midnightSurgeMS * time.Millisecond,
		"the Singles'-Day sale start on every stream: the run starts shortly before local midnight"},
	{ScenarioSurgeCelebrity, "", false, 15 * time.Minute,
		"a celebrity guest triples one stream's real audience, engagement and orders"},
	{ScenarioSurgeFlashSale, "", false, 5 * time.Minute,
		"a flash sale: a burst of orders from many distinct buyers on one stream, normal refunds"},
}

// Scenarios lists the scenarios Config.Scenarios accepts, frauds first.
func Scenarios() []ScenarioInfo { return append([]ScenarioInfo(nil), scenarioInfos[:]...) }

// ParseScenarios checks scenario names and returns them canonical: each argument may be a
// comma-separated list, "all" stands for every scenario, repeats and blanks are dropped, and
// the order is that of Scenarios.
func ParseScenarios(args ...string) ([]string, error) {
	var want [numScenarios]bool
	var errs []error
	for _, arg := range args {
		for name := range strings.SplitSeq(arg, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if name == ScenarioAll {
				for i := range want {
					want[i] = true
				}
				continue
			}
			id, ok := scenarioByName(name)
			if !ok {
				errs = append(errs, fmt.Errorf("unknown scenario %q (known: %s, %s)", name, strings.Join(scenarioNames(), ", "), ScenarioAll))
				continue
			}
			want[id] = true
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var names []string
	for id, ok := range want {
		if ok {
			names = append(names, scenarioInfos[id].Name)
		}
	}
	return names, nil
}

func scenarioByName(name string) (scenarioID, bool) {
	for id := range scenarioInfos {
		if scenarioInfos[id].Name == name {
			return scenarioID(id), true
		}
	}
	return 0, false
}

func scenarioNames() []string {
	names := make([]string, len(scenarioInfos))
	for i, info := range scenarioInfos {
		names[i] = info.Name
	}
	return names
}

// streamsNeeded is how many streams the canonical scenarios take over.
func streamsNeeded(names []string) int {
	n := 0
	for _, name := range names {
		if name != ScenarioSurgeMidnight {
			n++
		}
	}
	return n
}

// alignMidnight returns the Start of a run with surge_midnight: start itself when a local
// midnight falls in the first half of the run, else onset (at most half the run) before the
// last local midnight.
func alignMidnight(start time.Time, run, onset time.Duration, loc *time.Location) time.Time {
	t := start.In(loc)
	y, m, d := t.Date()
	last := time.Date(y, m, d, 0, 0, 0, 0, loc)
	next := last
	if next.Before(start) {
		next = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	}
	if next.Sub(start) <= run/2 {
		return start
	}
	return last.Add(-min(onset, run/2))
}

// Label is the ground truth of one injected scenario.
type Label struct {
	Scenario string `json:"scenario"`
	// Kind is the fraud kind (FraudViewerInflation, FraudRefundSpike, FraudOrderBrushing), or
	// "" for a legitimate surge.
	Kind  string `json:"kind"`
	Fraud bool   `json:"fraud"`
	// StreamID, KOLID and Platform name the stream it happens on; all empty for surge_midnight,
	// which happens on every stream.
	StreamID string `json:"stream_id"`
	KOLID    string `json:"kol_id"`
	Platform string `json:"platform,omitempty"`
	// Onset and End bound the episode, [Onset, End): the inflated counts, the bot sessions (join
	// to leave), the orders that get refunded, the brushing sessions and orders, the extra
	// arrivals of a celebrity's fans (who leave within a minute after End) and the flash-sale
	// orders. Refunds of the episode's orders come after their orders, some after End.
	Onset time.Time `json:"onset"`
	End   time.Time `json:"end"`
	// Params are the scenario's drawn parameters (see the scenario's actor), for evaluation.
	Params map[string]float64 `json:"params,omitempty"`
	// Devices, Networks and Buyers name the fraudsters' device_ids, /24s ("a.b.c.0/24") and
	// buyer accounts: those of the bot farm (viewer_inflation_bots) and of the brushing ring
	// (order_brushing, which lists its accounts in Buyers).
	Devices  []string `json:"devices,omitempty"`
	Networks []string `json:"networks,omitempty"`
	Buyers   []string `json:"buyers,omitempty"`
	// Implies lists the other fraud kinds the episode produces as a side effect, on its own
	// stream: a brushing ring refunds most of its orders, so its SKU's refund rate spikes too
	// (refund_spike). A flag of such a kind on the episode is right, though the label counts
	// only for its own kind.
	Implies []string `json:"implies,omitempty"`
}

// WriteLabels writes labels as JSON lines, one Label per line.
func WriteLabels(w io.Writer, labels []Label) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range labels {
		if err := enc.Encode(&labels[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ReadLabels reads labels written by WriteLabels.
func ReadLabels(r io.Reader) ([]Label, error) {
	dec := json.NewDecoder(r)
	var labels []Label
	for {
		var l Label
		if err := dec.Decode(&l); errors.Is(err, io.EOF) {
			return labels, nil
		} else if err != nil {
			return labels, fmt.Errorf("cannot read label %d: %w", len(labels)+1, err)
		}
		labels = append(labels, l)
	}
}

// Labels returns the ground truth of the configured scenarios, in the order of Scenarios. The
// scenarios are planned when the Generator is made, so the labels are complete before the
// first message.
func (g *Generator) Labels() []Label {
	labels := make([]Label, len(g.episodes))
	for i, ep := range g.episodes {
		labels[i] = ep.label
		labels[i].Params = maps.Clone(ep.label.Params)
		labels[i].Devices = slices.Clone(ep.label.Devices)
		labels[i].Networks = slices.Clone(ep.label.Networks)
		labels[i].Buyers = slices.Clone(ep.label.Buyers)
	}
	return labels
}

// episode is one scenario planned on the run: its window, its stream and its drawn parameters.
// Its actors (if any) draw from Generator.srng, never from the background's sequence, so the
// traffic before the onset is that of the same Config without scenarios.
type episode struct {
	id         scenarioID
	s          *stream // nil for surge_midnight
	onset, end int64   // Unix ms, [onset, end)
	extended   bool    // the stream's end was pushed back to outlast the episode
	label      Label

	inflation  float64 // viewer_inflation_count: displayed ÷ real concurrent
	refundRate float64 // refund_spike: fraction of the episode's orders refunded quickly
	flash      *flashSale
	actor      actor // started at the onset, if any
}

func (ep *episode) active(at int64) bool { return at >= ep.onset && at < ep.end }

// minEpisodeMS is the shortest episode: one second, time for a session to join and leave.
const minEpisodeMS = 1_000

// streamTailMS is how long a scenario's stream stays live after the episode at least (or until
// the end of the run), so the return to normal is visible.
const streamTailMS = 10 * 60_000

// planScenarios draws each scenario's window, stream and parameters, and schedules its actor.
// It runs once the streams live at Start are started, and draws from srng only.
func (g *Generator) planScenarios(warm []*stream) {
	if len(g.cfg.Scenarios) == 0 {
		return
	}
	run := g.end - g.start
	onset := g.cfg.ScenarioOnset.Milliseconds()
	free := append([]*stream(nil), warm...)
	for i := range g.cfg.ScenarioCopies * len(g.cfg.Scenarios) {
		name := g.cfg.Scenarios[i%len(g.cfg.Scenarios)]
		id, _ := scenarioByName(name)
		if id == scMidnight && i >= len(g.cfg.Scenarios) {
			continue // one midnight
		}
		info := &scenarioInfos[id]
		ep := &episode{id: id}
		length := info.Duration.Milliseconds()
		if g.cfg.ScenarioDuration > 0 && id != scMidnight {
			length = g.cfg.ScenarioDuration.Milliseconds()
		}
		o := onset
		if o+length > run {
			f := float64(run) / float64(o+length)
			o, length = int64(float64(o)*f), int64(float64(length)*f)
		}
		length = max(length, minEpisodeMS)
		ep.onset, ep.end = g.start+o, min(g.start+o+length, g.end)
		if id == scMidnight {
			ep.onset = g.nextMidnight()
			ep.end = min(ep.onset+midnightSurgeMS, g.end)
		} else {
			need := min(ep.end+streamTailMS, g.end)
			ep.s, free = g.pickTarget(free, need)
			ep.s.ep = ep
			if ep.s.end < need {
				g.extendStream(ep.s, need)
				ep.extended = true
			}
		}
		ep.label = Label{Scenario: info.Name, Kind: info.Kind, Fraud: info.Fraud,
			Onset: time.UnixMilli(ep.onset).UTC(), End: time.UnixMilli(ep.end).UTC(), Params: map[string]float64{}}
		if ep.s != nil {
			ep.label.StreamID, ep.label.KOLID, ep.label.Platform = ep.s.id, ep.s.kol.id, ep.s.plat.name
		}
		g.drawEpisode(ep)
		g.episodes = append(g.episodes, ep)
	}
	for _, ep := range g.episodes {
		if ep.actor != nil {
			g.schedule(ep.actor, ep.onset)
		}
	}
}

// nextMidnight is the first local midnight at or after Start, Unix ms.
func (g *Generator) nextMidnight() int64 {
	t := g.cfg.Start.In(g.cfg.Location)
	y, m, d := t.Date()
	mid := time.Date(y, m, d, 0, 0, 0, 0, g.cfg.Location)
	if mid.Before(g.cfg.Start) {
		mid = time.Date(y, m, d+1, 0, 0, 0, 0, g.cfg.Location)
	}
	return mid.UnixMilli()
}

// pickTarget draws a stream from free that stays on air until need, in proportion to its
// popularity (scenarios need some audience to act on), and returns it with the rest. When none
// stays that long it takes the one that stays longest.
func (g *Generator) pickTarget(free []*stream, need int64) (*stream, []*stream) {
	total, longest := 0.0, 0
	for i, s := range free {
		if s.end >= need {
			total += s.popularity
		}
		if s.end > free[longest].end {
			longest = i
		}
	}
	i := longest
	if total > 0 {
		x := g.srng.Float64() * total
		for i = range free {
			if free[i].end < need {
				continue
			}
			if x < free[i].popularity {
				break
			}
			x -= free[i].popularity
		}
		for free[i].end < need { // rounding left x past the last eligible stream
			i--
		}
	}
	s := free[i]
	return s, append(free[:i:i], free[i+1:]...)
}

// extendStream keeps a stream live at Start on air until end: its viewers who were to leave at
// its old end (the only ones after it) get a dwell again, from srng.
func (g *Generator) extendStream(s *stream, end int64) {
	old := s.end
	s.end = end
	for _, it := range g.q {
		ss, ok := it.a.(*session)
		if !ok || ss.s != s || ss.due != stepJoin || ss.leaveAt < old {
			continue
		}
		leave := old + residualDwellMS(g.srng)
		if leave > end {
			leave = end + g.srng.Int64N(endLeaveJitterMS)
		}
		ss.leaveAt = leave
	}
}

// expectedAudience is how many viewers s has at t, by the traffic model (not by chance).
func (g *Generator) expectedAudience(s *stream, t int64) float64 {
	return g.audienceAt(t) * s.popularity / g.popularityNorm
}

// drawEpisode draws the parameters of ep and notes them on its label.
func (g *Generator) drawEpisode(ep *episode) {
	r, p := g.srng, ep.label.Params
	switch ep.id {
	case scCountInflation:
		ep.inflation = 5 + 15*r.Float64()
		p["inflation"] = round3(ep.inflation)
	case scBotInflation:
		f := g.newBotFarm(ep)
		p["bots_per_wave"], p["waves"], p["devices"], p["ip_ranges"] = float64(len(f.accounts)), float64(f.waves), float64(len(f.devices)), float64(len(f.nets))
		p["burst_s"], p["dwell_s"], p["heartbeat_s"] = float64(f.burst)/1000, float64(f.dwell)/1000, float64(f.beat)/1000
		ep.label.Devices = slices.Clone(f.devices)
		for _, n := range f.nets {
			ep.label.Networks = append(ep.label.Networks, cidr24(n))
		}
	case scRefundSpike:
		ep.refundRate = 0.6 + 0.2*r.Float64()
		p["refund_rate"] = round3(ep.refundRate)
	case scOrderBrushing:
		b := g.newBrushRing(ep)
		p["accounts"], p["devices"], p["orders"] = float64(len(b.accounts)), float64(b.devices), float64(len(b.times))
		p["unit_price"], p["refund_share"] = major(b.price), round3(b.refundShare)
		ep.label.Devices, ep.label.Buyers = slices.Clone(b.devIDs), slices.Clone(b.accounts)
		ep.label.Networks = []string{b.net}
		ep.label.Implies = []string{FraudRefundSpike}
	case scMidnight:
		p["peak_level"] = round3(g.curve.level(ep.onset))
	case scCelebrity:
		ep.actor = &celebrity{ep: ep}
		p["viewer_multiplier"] = celebrityMultiplier
	case scFlashSale:
		f := g.newFlashSale(ep)
		p["buyers"], p["flash_price"], p["flash_share"] = float64(f.buyers), major(f.price), flashShare
	}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// major is m in major units (yuan).
func major(m schemas.Money) float64 { return float64(m) / 100 }
