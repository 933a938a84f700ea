package detectors

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration written in YAML as a Go duration string ("10s", "5m", "1h30m").
// A bare number is rejected: "10" could mean seconds or nanoseconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) ms() int64 { return time.Duration(d).Milliseconds() }

// String formats d like time.Duration without zero units: "30m", "1h", "1m30s", "10s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Config holds every threshold of the detectors. DefaultConfig gives the documented defaults;
// ParseConfig and LoadConfig start from them and override what the YAML sets (defaults.yaml in
// this folder lists every key with its default and meaning).
type Config struct {
	// EvaluateEvery is the evaluation step: detectors are evaluated at every multiple of it in
	// event time (Unix epoch aligned), each time over the events before that instant. Default 10s.
	EvaluateEvery Duration `yaml:"evaluate_every"`
	// CloseAfter is how many consecutive evaluations without a finding close an open flag.
	// Default 6 (one minute at the default step).
	CloseAfter int `yaml:"close_after"`
	// StreamIdle: a stream with no event for this long (event time) is forgotten by every
	// detector. Must be at least every detector window. Default 1h.
	StreamIdle Duration `yaml:"stream_idle"`
	// UpdateScoreDelta: an open flag is emitted again when its peak score grows by at least this
	// much (or its severity rises). Default 0.1.
	UpdateScoreDelta float64 `yaml:"update_score_delta"`
	// RefreshEvery: an open flag is also emitted again when this much event time passed since
	// its last emission, so its stored window_end (and an SSE or webhook reader's) is never more
	// than this stale while the anomaly lasts. Default 1m.
	RefreshEvery Duration `yaml:"refresh_every"`
	// Severity maps a finding's score to its severity.
	Severity SeverityConfig `yaml:"severity"`
	// HistoryDays: a stream without a baseline of its own yet (new, or just taken over by this
	// process) is judged against its KOL's history in the store, else its brand's: the
	// HistoryDays before the stream's day (refund_spike's refund rate, viewer_inflation's
	// engagement per viewer-minute). 0: no history. Default 30.
	HistoryDays int `yaml:"history_days"`

	ViewerInflation ViewerInflationConfig `yaml:"viewer_inflation"`
	RefundSpike     RefundSpikeConfig     `yaml:"refund_spike"`
	OrderBrushing   OrderBrushingConfig   `yaml:"order_brushing"`
}

// SeverityConfig: score < Warning is info, Warning ≤ score < Critical is warning, else critical.
type SeverityConfig struct {
	// Warning is the lowest score of a warning. Default 0.5.
	Warning float64 `yaml:"warning"`
	// Critical is the lowest score of a critical flag. Default 0.8.
	Critical float64 `yaml:"critical"`
}

// ViewerInflationConfig configures viewer_inflation. Signals are primary (honest traffic does not
// show them: displayed_vs_measured, silent_sessions, device_concentration) or corroborating
// (honest traffic can show one of them: a surge makes a join burst, carrier NAT crowds /24
// networks, a stream's end or a surge can align dwell times, a quiet moment lowers engagement).
// A finding needs the displayed count at ExtremeRatio × the measured audience, or at least one
// primary signal among MinSignals fired signals.
type ViewerInflationConfig struct {
	// Enabled turns the detector on. Default true.
	Enabled bool `yaml:"enabled"`
	// Window: the sessions considered are those alive at some time in the last Window (event
	// time). Default 5m.
	Window Duration `yaml:"window"`
	// SessionTimeout: a session with no join, heartbeat or engage for this long has left (the
	// measured-concurrency rule of pipeline/metrics). Default 60s.
	SessionTimeout Duration `yaml:"session_timeout"`
	// MaxSessions bounds the sessions kept per stream; beyond it new sessions are not tracked and
	// the displayed-vs-measured comparison is suspended for the stream. Default 300000.
	MaxSessions int `yaml:"max_sessions"`
	// MinSessions is the least number of sessions (with a device, resp. an address, resp. old
	// enough) before a share signal can fire. Default 100.
	MinSessions int `yaml:"min_sessions"`

	// Warmup: the displayed-vs-measured ratio is not used until the stream has been observed this
	// long, so that sessions already open when observation began have shown up (heartbeats come
	// every 20–30 s). Default 90s.
	Warmup Duration `yaml:"warmup"`
	// CountMaxAge: a displayed count older than this is not compared. Default 60s.
	CountMaxAge Duration `yaml:"count_max_age"`
	// MinDisplayed: smaller displayed counts are never compared. Default 500.
	MinDisplayed int `yaml:"min_displayed"`
	// DisplayedRatio: displayed ÷ measured concurrent sessions (median over the last 6
	// evaluations, at least 3 of them with a fresh count) at or above this fires
	// displayed_vs_measured; honest platforms show 1.0–1.3. Default 2.
	DisplayedRatio float64 `yaml:"displayed_ratio"`
	// ExtremeRatio: at or above this the ratio alone is a finding. Default 4.
	ExtremeRatio float64 `yaml:"extreme_ratio"`

	// SilentAfter: a session older than this (or that left after at least this long) that never
	// sent a heartbeat or an engagement is silent; honest clients heartbeat every 20–30 s.
	// Default 45s.
	SilentAfter Duration `yaml:"silent_after"`
	// SilentShare: silent ÷ sessions older than SilentAfter at or above this fires
	// silent_sessions. Default 0.25.
	SilentShare float64 `yaml:"silent_share"`

	// DeviceSessions: a device with at least this many sessions in the window is crowded.
	// Default 5.
	DeviceSessions int `yaml:"device_sessions"`
	// DeviceShare: sessions on crowded devices ÷ sessions with a device at or above this fires
	// device_concentration. Default 0.2.
	DeviceShare float64 `yaml:"device_share"`

	// IP24Sessions: a /24 network (IPv6: /48) with at least this many sessions is crowded.
	// Default 50.
	IP24Sessions int `yaml:"ip24_sessions"`
	// IP24Share: sessions in crowded networks ÷ sessions with an address at or above this fires
	// ip24_concentration (corroborating: carrier NAT crowds networks honestly). Default 0.3.
	IP24Share float64 `yaml:"ip24_share"`

	// BurstSpan is the span over which joins are counted for join_burst. Default 1m.
	BurstSpan Duration `yaml:"burst_span"`
	// BurstMinJoins: join_burst needs at least this many joins in BurstSpan. Default 1000.
	BurstMinJoins int `yaml:"burst_min_joins"`
	// BurstFactor: ... and at least this many times the stream's baseline join rate.
	// Default 5.
	BurstFactor float64 `yaml:"burst_factor"`

	// DwellBand: dwell times within a factor 1+DwellBand of each other form a cluster.
	// Default 0.1.
	DwellBand float64 `yaml:"dwell_band"`
	// DwellMinEnded: dwell_clustering needs at least this many sessions that ended in the window
	// (after a heartbeat, or with a leave). Default 50.
	DwellMinEnded int `yaml:"dwell_min_ended"`
	// DwellShare: the largest cluster ÷ ended sessions at or above this fires dwell_clustering;
	// honest dwell times (log-normal, median ~100 s) put under 5 % in any such band. Default 0.5.
	DwellShare float64 `yaml:"dwell_share"`

	// EngagementSpan is the span over which engagements per viewer-minute are measured.
	// Default 2m.
	EngagementSpan Duration `yaml:"engagement_span"`
	// EngagementCollapse: engagements per viewer-minute at or below this fraction of the
	// stream's baseline fire engagement_collapse. Default 0.25.
	EngagementCollapse float64 `yaml:"engagement_collapse"`
	// HistoryViewerMinutes: until the stream has an engagement baseline of its own, its KOL's
	// engagements per viewer-minute over history_days stand in, else its brand's, when they
	// weigh this many viewer-minutes (a bot farm on a stream's first minutes has no clean stretch
	// to learn from). 0: the history is not used. Default 10000.
	HistoryViewerMinutes int `yaml:"history_viewer_minutes"`

	// BaselineHalfLife: the stream's own baselines (join rate, engagement, displayed ratio) are
	// exponentially weighted means over its clean evaluations with this half-life. Default 10m.
	BaselineHalfLife Duration `yaml:"baseline_half_life"`
	// BaselineAfter: baselines are used once built from this much clean observation.
	// Default 5m.
	BaselineAfter Duration `yaml:"baseline_after"`

	// MinSignals: without an extreme ratio, a finding needs this many fired signals, at least
	// one of them primary. Default 2.
	MinSignals int `yaml:"min_signals"`
}

// RefundSpikeConfig configures refund_spike. The refund rate of a stream is measured on the
// orders placed in the last Window (a cohort): the share of them refunded so far. It is a
// proportion, so the Wilson score interval applies; a finding needs MinOrders orders, and a rate of
// at least Rate with a lower bound of at least LowerBound, or a lower bound far above the stream's
// own baseline (PriorRate until it has one).
type RefundSpikeConfig struct {
	// Enabled turns the detector on. Default true.
	Enabled bool `yaml:"enabled"`
	// Window: orders placed in the last Window form the cohort (sliding by the evaluation step).
	// Default 30m.
	Window Duration `yaml:"window"`
	// ShortWindow: the cohort of the orders placed in the last ShortWindow is judged too, by the
	// same rules, so a wave of refunds shorter than Window is not diluted by the honest orders
	// before and after it (a 10-minute spike on a small stream). 0 turns it off; at most Window.
	// Default 10m.
	ShortWindow Duration `yaml:"short_window"`
	// MinOrders: fewer orders in the cohort (of the stream, or of one SKU) never make a finding.
	// Default 20.
	MinOrders int `yaml:"min_orders"`
	// Rate: the observed refund rate of the cohort must reach it. Default 0.6.
	Rate float64 `yaml:"rate"`
	// LowerBound: ...and the lower end of its Wilson score interval (at Confidence) must reach
	// this, so few orders need a higher rate: with the defaults 70 % of 20 or 30 orders, 63 %
	// of 60, 60 % from about 100 orders on; 2 refunds of 3 orders never. Set it to Rate for the
	// strictest reading ("95 % sure the true rate is at least 60 %": then 80 % of 30 orders and
	// 70 % of 150). Default 0.5: 95 % sure at least half of the orders were refunded, over three
	// times the 7–15 % honest streams reach even counting returns hours later.
	LowerBound float64 `yaml:"lower_bound"`
	// Confidence of the Wilson interval (two-sided; 0.95 → z = 1.96). Default 0.95.
	Confidence float64 `yaml:"confidence"`
	// BaselineFactor and BaselineFloor: a lower bound at or above max(BaselineFactor × baseline,
	// BaselineFloor) is also a finding: far above the stream's own normal (or, until it has one,
	// PriorRate), though below Rate. Defaults 4 and 0.25.
	BaselineFactor float64 `yaml:"baseline_factor"`
	BaselineFloor  float64 `yaml:"baseline_floor"`
	// PriorRate stands in for the baseline of a stream that has none yet: the share of orders
	// honest streams see refunded within Window (quick cancellations; returns come hours later).
	// A spike diluted by honest orders in the cohort, or on a stream too young to have a
	// history, is then still caught. 0 disables the relative rule until a baseline exists.
	// Default 0.05.
	PriorRate float64 `yaml:"prior_rate"`
	// BaselineMinOrders: the baseline (share of the stream's orders refunded within Window of
	// being placed, over orders that left the cohort while the stream was not flagged) is used
	// once it weighs this many orders. Until then, its KOL's history (HistoryDays) stands in,
	// else its brand's, when it weighs this many orders; else PriorRate. Default 100.
	BaselineMinOrders int `yaml:"baseline_min_orders"`
	// BaselineHalfLife: older orders weigh less in the baseline, halving every this long.
	// Default 2h.
	BaselineHalfLife Duration `yaml:"baseline_half_life"`
	// QuickRefund: a refund this soon after its order is quick (refund velocity, evidence and
	// score). Default 10m.
	QuickRefund Duration `yaml:"quick_refund"`
	// VelocityWindow: refund velocity as a rule of its own. The refunds of the last
	// VelocityWindow that came within QuickRefund of their orders are counted against the number
	// the stream's baseline expects of its orders over that time (its share of orders refunded
	// within QuickRefund, else its KOL's or brand's history, else PriorRate, spread evenly over
	// each order's first QuickRefund). It reacts while the cohort rates are still diluted by the
	// orders not yet refunded: minutes earlier on a wave of quick cancellations. 0 turns it off;
	// VelocityWindow + QuickRefund must not exceed Window. Default 5m.
	VelocityWindow Duration `yaml:"velocity_window"`
	// VelocityMinRefunds: fewer quick refunds in VelocityWindow never make a velocity finding.
	// Default 5.
	VelocityMinRefunds int `yaml:"velocity_min_refunds"`
	// VelocityAlpha: the quick refunds must be at least BaselineFactor times the expected number,
	// and at least as many must have a chance of at most VelocityAlpha under the baseline
	// (Poisson). Default 1e-6: over a thousand honest streams judged every 10 s, with about 12
	// independent windows per stream an hour, about one false alarm in 80 hours if the baseline
	// were exact; the factor guards against a baseline that is not.
	VelocityAlpha float64 `yaml:"velocity_alpha"`
	// MaxOrders bounds the orders kept per stream (the oldest are dropped first). Default 100000.
	MaxOrders int `yaml:"max_orders"`
	// MaxSKUs bounds the SKUs told apart per stream; later ones are only counted for the stream.
	// Default 1000.
	MaxSKUs int `yaml:"max_skus"`
}

// OrderBrushingConfig configures order_brushing: fake orders placed by a few accounts or devices
// to inflate sales. Honest flash sales have many distinct buyers and must not flag.
type OrderBrushingConfig struct {
	// Enabled turns the detector on. Default true.
	Enabled bool `yaml:"enabled"`
	// Window: orders of the last Window are considered (the marketplace rule is per hour).
	// Default 1h.
	Window Duration `yaml:"window"`
	// MinOrders: the ratio rules need at least this many orders in the window. Default 30.
	MinOrders int `yaml:"min_orders"`
	// OrdersPerBuyer: orders ÷ distinct buyers at or above this is a finding (the marketplace
	// rule). Default 3.
	OrdersPerBuyer float64 `yaml:"orders_per_buyer"`
	// OrdersPerDevice: the same over the buyers' devices (known when the buyer watched the
	// stream: buyer_id = viewer_id). Default 3.
	OrdersPerDevice float64 `yaml:"orders_per_device"`
	// HeavyOrders: a buyer or device with at least this many orders in the window is heavy.
	// Default 4.
	HeavyOrders int `yaml:"heavy_orders"`
	// HeavyMinOrders: heavy orders (of heavy buyers or devices) at least this many, with identical
	// amounts or refunds among them, are a finding even when the stream's overall ratio is
	// normal (brushing hidden in honest traffic). Default 10.
	HeavyMinOrders int `yaml:"heavy_min_orders"`
	// SharedDeviceOrders: orders from buyer accounts that share a device with another ordering
	// account, at least this many, with identical amounts or refunds among them (as for heavy
	// orders), are a finding: several accounts on one phone buying the same item is a ring's
	// signature from its first orders, long before any account or device is heavy. Honest
	// households sharing a tablet buy different things. 0 turns it off. Default 5.
	SharedDeviceOrders int `yaml:"shared_device_orders"`
	// IdenticalShare: the most common amount of the heavy orders, at or above this share of them
	// and at least three times as common among them as among the other orders (a flash sale's
	// price is common among everyone's orders), corroborates. Default 0.5.
	IdenticalShare float64 `yaml:"identical_share"`
	// RefundShare: refunded heavy orders at or above this share corroborate. Default 0.3.
	RefundShare float64 `yaml:"refund_share"`
	// MaxOrders bounds the orders kept per stream. Default 100000.
	MaxOrders int `yaml:"max_orders"`
	// MaxViewers bounds the viewer → device entries kept per stream. Default 200000.
	MaxViewers int `yaml:"max_viewers"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		EvaluateEvery:    Duration(10 * time.Second),
		CloseAfter:       6,
		StreamIdle:       Duration(time.Hour),
		UpdateScoreDelta: 0.1,
		RefreshEvery:     Duration(time.Minute),
		Severity:         SeverityConfig{Warning: 0.5, Critical: 0.8},
		HistoryDays:      30,
		ViewerInflation: ViewerInflationConfig{
			Enabled:              true,
			Window:               Duration(5 * time.Minute),
			SessionTimeout:       Duration(60 * time.Second),
			MaxSessions:          300_000,
			MinSessions:          100,
			Warmup:               Duration(90 * time.Second),
			CountMaxAge:          Duration(60 * time.Second),
			MinDisplayed:         500,
			DisplayedRatio:       2,
			ExtremeRatio:         4,
			SilentAfter:          Duration(45 * time.Second),
			SilentShare:          0.25,
			DeviceSessions:       5,
			DeviceShare:          0.2,
			IP24Sessions:         50,
			IP24Share:            0.3,
			BurstSpan:            Duration(time.Minute),
			BurstMinJoins:        1000,
			BurstFactor:          5,
			DwellBand:            0.1,
			DwellMinEnded:        50,
			DwellShare:           0.5,
			EngagementSpan:       Duration(2 * time.Minute),
			EngagementCollapse:   0.25,
			BaselineHalfLife:     Duration(10 * time.Minute),
			BaselineAfter:        Duration(5 * time.Minute),
			MinSignals:           2,
			HistoryViewerMinutes: 10_000,
		},
		RefundSpike: RefundSpikeConfig{
			Enabled:            true,
			Window:             Duration(30 * time.Minute),
			ShortWindow:        Duration(10 * time.Minute),
			MinOrders:          20,
			Rate:               0.6,
			LowerBound:         0.5,
			Confidence:         0.95,
			BaselineFactor:     4,
			BaselineFloor:      0.25,
			PriorRate:          0.05,
			BaselineMinOrders:  100,
			BaselineHalfLife:   Duration(2 * time.Hour),
			QuickRefund:        Duration(10 * time.Minute),
			VelocityWindow:     Duration(5 * time.Minute),
			VelocityMinRefunds: 5,
			VelocityAlpha:      1e-6,
			MaxOrders:          100_000,
			MaxSKUs:            1000,
		},
		OrderBrushing: OrderBrushingConfig{
			Enabled:            true,
			Window:             Duration(time.Hour),
			MinOrders:          30,
			OrdersPerBuyer:     3,
			OrdersPerDevice:    3,
			HeavyOrders:        4,
			HeavyMinOrders:     10,
			SharedDeviceOrders: 5,
			IdenticalShare:     0.5,
			RefundShare:        0.3,
			MaxOrders:          100_000,
			MaxViewers:         200_000,
		},
	}
}

// Validate reports every invalid value, each with its YAML path.
func (c Config) Validate() error {
	var v validator
	v.dur("evaluate_every", c.EvaluateEvery, time.Millisecond)
	v.atLeast("close_after", c.CloseAfter, 1)
	v.dur("stream_idle", c.StreamIdle, time.Millisecond)
	v.share0("update_score_delta", c.UpdateScoreDelta)
	v.dur("refresh_every", c.RefreshEvery, time.Millisecond)
	v.atLeast("history_days", c.HistoryDays, 0)
	v.share("severity.warning", c.Severity.Warning)
	v.share("severity.critical", c.Severity.Critical)
	if c.Severity.Warning >= c.Severity.Critical && v.ok("severity.warning", "severity.critical") {
		v.add("severity.warning", "must be below severity.critical (%g), got %g", c.Severity.Critical, c.Severity.Warning)
	}

	vi := c.ViewerInflation
	p := "viewer_inflation."
	v.dur(p+"window", vi.Window, time.Millisecond)
	v.dur(p+"session_timeout", vi.SessionTimeout, time.Millisecond)
	v.atLeast(p+"max_sessions", vi.MaxSessions, 1)
	v.atLeast(p+"min_sessions", vi.MinSessions, 1)
	v.dur(p+"warmup", vi.Warmup, 0)
	v.dur(p+"count_max_age", vi.CountMaxAge, time.Millisecond)
	v.atLeast(p+"min_displayed", vi.MinDisplayed, 0)
	v.ratio(p+"displayed_ratio", vi.DisplayedRatio)
	v.ratio(p+"extreme_ratio", vi.ExtremeRatio)
	if vi.ExtremeRatio < vi.DisplayedRatio && v.ok(p+"displayed_ratio", p+"extreme_ratio") {
		v.add(p+"extreme_ratio", "must be at least displayed_ratio (%g), got %g", vi.DisplayedRatio, vi.ExtremeRatio)
	}
	v.dur(p+"silent_after", vi.SilentAfter, time.Millisecond)
	v.share(p+"silent_share", vi.SilentShare)
	v.atLeast(p+"device_sessions", vi.DeviceSessions, 2)
	v.share(p+"device_share", vi.DeviceShare)
	v.atLeast(p+"ip24_sessions", vi.IP24Sessions, 2)
	v.share(p+"ip24_share", vi.IP24Share)
	v.dur(p+"burst_span", vi.BurstSpan, time.Second)
	v.atLeast(p+"burst_min_joins", vi.BurstMinJoins, 1)
	v.ratio(p+"burst_factor", vi.BurstFactor)
	v.positive(p+"dwell_band", vi.DwellBand)
	v.atLeast(p+"dwell_min_ended", vi.DwellMinEnded, 2)
	v.share(p+"dwell_share", vi.DwellShare)
	v.dur(p+"engagement_span", vi.EngagementSpan, time.Second)
	v.share(p+"engagement_collapse", vi.EngagementCollapse)
	v.dur(p+"baseline_half_life", vi.BaselineHalfLife, time.Millisecond)
	v.dur(p+"baseline_after", vi.BaselineAfter, 0)
	v.atLeast(p+"min_signals", vi.MinSignals, 1)
	v.atLeast(p+"history_viewer_minutes", vi.HistoryViewerMinutes, 0)
	for _, f := range []struct {
		name string
		d    Duration
	}{{"burst_span", vi.BurstSpan}, {"engagement_span", vi.EngagementSpan}, {"silent_after", vi.SilentAfter}, {"count_max_age", vi.CountMaxAge}} {
		if f.d > vi.Window && v.ok(p+f.name, p+"window") {
			v.add(p+f.name, "must not exceed window (%s), got %s", vi.Window, f.d)
		}
	}

	rs := c.RefundSpike
	p = "refund_spike."
	v.dur(p+"window", rs.Window, time.Millisecond)
	v.dur(p+"short_window", rs.ShortWindow, 0)
	if rs.ShortWindow > rs.Window && v.ok(p+"window", p+"short_window") {
		v.add(p+"short_window", "must be at most refund_spike.window (%s), got %s", rs.Window, rs.ShortWindow)
	}
	v.atLeast(p+"min_orders", rs.MinOrders, 1)
	v.share(p+"rate", rs.Rate)
	v.share(p+"lower_bound", rs.LowerBound)
	if !(rs.Confidence >= 0.5 && rs.Confidence < 1) {
		v.add(p+"confidence", "must be in [0.5, 1), got %g", rs.Confidence)
	}
	v.ratio(p+"baseline_factor", rs.BaselineFactor)
	v.share(p+"baseline_floor", rs.BaselineFloor)
	v.share0(p+"prior_rate", rs.PriorRate)
	v.atLeast(p+"baseline_min_orders", rs.BaselineMinOrders, 1)
	v.dur(p+"baseline_half_life", rs.BaselineHalfLife, time.Millisecond)
	v.dur(p+"quick_refund", rs.QuickRefund, time.Millisecond)
	v.dur(p+"velocity_window", rs.VelocityWindow, 0)
	if rs.VelocityWindow+rs.QuickRefund > rs.Window && v.ok(p+"window", p+"quick_refund", p+"velocity_window") {
		v.add(p+"velocity_window", "plus quick_refund (%s) must not exceed window (%s), got %s", rs.QuickRefund, rs.Window, rs.VelocityWindow)
	}
	v.atLeast(p+"velocity_min_refunds", rs.VelocityMinRefunds, 1)
	if !(rs.VelocityAlpha > 0 && rs.VelocityAlpha < 1) {
		v.add(p+"velocity_alpha", "must be in (0, 1), got %g", rs.VelocityAlpha)
	}
	v.atLeast(p+"max_orders", rs.MaxOrders, 1)
	v.atLeast(p+"max_skus", rs.MaxSKUs, 0)

	ob := c.OrderBrushing
	p = "order_brushing."
	v.dur(p+"window", ob.Window, time.Millisecond)
	v.atLeast(p+"min_orders", ob.MinOrders, 1)
	v.ratio(p+"orders_per_buyer", ob.OrdersPerBuyer)
	v.ratio(p+"orders_per_device", ob.OrdersPerDevice)
	v.atLeast(p+"heavy_orders", ob.HeavyOrders, 2)
	v.atLeast(p+"heavy_min_orders", ob.HeavyMinOrders, 1)
	v.atLeast(p+"shared_device_orders", ob.SharedDeviceOrders, 0)
	v.share(p+"identical_share", ob.IdenticalShare)
	v.share(p+"refund_share", ob.RefundShare)
	v.atLeast(p+"max_orders", ob.MaxOrders, 1)
	v.atLeast(p+"max_viewers", ob.MaxViewers, 0)

	longest, longestName := Duration(0), ""
	for _, w := range []struct {
		name string
		d    Duration
	}{
		{"viewer_inflation.window", vi.Window},
		{"refund_spike.window", rs.Window},
		{"order_brushing.window", ob.Window},
	} {
		if w.d < c.EvaluateEvery && v.ok(w.name, "evaluate_every") {
			v.add(w.name, "must be at least evaluate_every (%s), got %s", c.EvaluateEvery, w.d)
		}
		if w.d > longest && v.ok(w.name) {
			longest, longestName = w.d, w.name
		}
	}
	if c.StreamIdle < longest && v.ok("stream_idle") {
		v.add("stream_idle", "must be at least the longest detector window (%s: %s), got %s", longestName, longest, c.StreamIdle)
	}
	return v.err()
}

// validator collects invalid values with their paths.
type validator struct {
	errs []error
	bad  map[string]bool
}

func (v *validator) add(path, format string, args ...any) {
	if v.bad == nil {
		v.bad = make(map[string]bool)
	}
	v.bad[path] = true
	v.errs = append(v.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// ok reports whether none of paths was found invalid already (relations between invalid values
// would only repeat the error).
func (v *validator) ok(paths ...string) bool {
	for _, p := range paths {
		if v.bad[p] {
			return false
		}
	}
	return true
}

func (v *validator) dur(path string, d Duration, least time.Duration) {
	if time.Duration(d) < least || (least > 0 && d <= 0) {
		if least == 0 {
			v.add(path, "must not be negative, got %s", d)
		} else {
			v.add(path, "must be at least %s, got %s", least, d)
		}
	}
}

func (v *validator) atLeast(path string, n, least int) {
	if n < least {
		v.add(path, "must be at least %d, got %d", least, n)
	}
}

func (v *validator) share(path string, x float64) {
	if !(x > 0 && x <= 1) {
		v.add(path, "must be in (0, 1], got %g", x)
	}
}

func (v *validator) share0(path string, x float64) {
	if !(x >= 0 && x <= 1) {
		v.add(path, "must be in [0, 1], got %g", x)
	}
}

func (v *validator) ratio(path string, x float64) {
	if !(x >= 1) || x > 1e9 {
		v.add(path, "must be at least 1, got %g", x)
	}
}

func (v *validator) positive(path string, x float64) {
	if !(x > 0) || x > 1e9 {
		v.add(path, "must be positive, got %g", x)
	}
}

func (v *validator) err() error { return errors.Join(v.errs...) }

// FieldError is a problem with one configuration value.
type FieldError struct {
	Path string // YAML path, dotted: "refund_spike.rate"
	Line int    // line in the YAML, 0 when unknown
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", e.Path, e.Line, e.Msg)
	}
	return e.Path + ": " + e.Msg
}
