package detectors

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/livepulse/livepulse/schemas"
	"github.com/livepulse/livepulse/schemas/idhash"
)

// viewer_inflation: the audience a stream claims is not the audience it has.
//
// Two families of evidence. (a) The displayed count (reported_viewers of action=count events)
// against the measured concurrent sessions: a session is opened or refreshed by a join,
// heartbeat or engage, closed by a leave, and times out SessionTimeout after its last sign of life
// (the rule of pipeline/metrics); it is concurrent at t when open just before t. The ratio is the
// median over the last 6 evaluations, so one odd count does not fire it. (b) Bot signatures among
// the sessions alive in the last Window: sessions that never heartbeat or engage, many sessions on
// one device or one /24 network, a burst of joins against the stream's own join rate, dwell times
// clustered far tighter than people's, engagement per viewer collapsing against the stream's own
// level or its KOL's (else its brand's) usual level from the store (History): a farm running from
// a stream's first minute leaves no clean stretch to learn the stream's own level from, and the
// level it learns under the farm is the farm's.
//
// Honest traffic shows some of (b) on its own: carrier NAT puts thousands of phones behind a few
// networks, a celebrity guest brings thousands of joins within minutes (with engagement and orders
// rising along), the end of a stream after a surge aligns dwell times. So those signals only
// corroborate: a finding needs an extreme displayed ratio, or MinSignals fired signals of which
// at least one is primary (displayed_vs_measured, silent_sessions, device_concentration), which
// honest traffic does not produce: households share an address, not a device, and honest clients
// heartbeat every 20–30 s.
//
// Score: a noisy-OR of the fired signals, each weighing by its strength (how far past its
// threshold): a primary 0.25–0.5, a corroborating one 0.1–0.2, an extreme ratio 0.7–1.

const bucketMS = 10_000 // join and engage counts are kept per 10 s of event time

type viewerInflation struct {
	c   ViewerInflationConfig
	sev SeverityConfig
	// durations in ms
	idle, timeout, window, silentAfter, warmup, countMaxAge, burstSpan, engSpan, halfLife, baseAfter int64
	ringLen, historyDays                                                                             int

	streams map[string]*viStream
	history map[HistoryKey]*History // the engine's; nil: none used
	// scratch for Evaluate
	devCount map[uint64]int32
	netCount map[uint64]int32
	dwells   []int64
}

type viSession struct {
	first, last int64 // first and last sign of life (join, heartbeat, engage)
	leftAt      int64 // the leave, when left
	device, net uint64
	signs       uint32 // heartbeats and engagements
	left        bool
}

// close is when the session stops being open: its leave, or last sign of life + timeout.
func (s *viSession) close(timeout int64) int64 {
	if s.left {
		return s.leftAt
	}
	return s.last + timeout
}

type viBucket struct {
	idx            int64 // bucket number: ts / bucketMS
	joins, engages uint32
}

type ratioSample struct {
	ok bool
	r  float64
}

type viStream struct {
	firstTS, lastTS int64
	sessions        idhash.Table[viSession]
	droppedAt       int64 // the last session not tracked because of MaxSessions

	countTS  int64 // the newest displayed count
	countVal uint64
	hasCount bool

	ring    []viBucket
	samples [6]ratioSample // displayed ÷ measured at the last evaluations, circular
	nextS   int

	baseRatio, baseEngage, baseJoins ewma
	cleanMS                          int64 // clean observation the baselines were built from
	lastEval                         int64

	kol, brand string // of its latest join, for the history
	day        int64  // UTC midnight of its latest join
}

// NewViewerInflation returns the viewer_inflation detector configured by cfg.ViewerInflation.
func NewViewerInflation(cfg Config) Detector {
	c := cfg.ViewerInflation
	d := &viewerInflation{
		c: c, sev: cfg.Severity,
		idle: cfg.StreamIdle.ms(), timeout: c.SessionTimeout.ms(), window: c.Window.ms(),
		silentAfter: c.SilentAfter.ms(), warmup: c.Warmup.ms(), countMaxAge: c.CountMaxAge.ms(),
		burstSpan: c.BurstSpan.ms(), engSpan: c.EngagementSpan.ms(),
		halfLife: c.BaselineHalfLife.ms(), baseAfter: c.BaselineAfter.ms(), historyDays: cfg.HistoryDays,
		streams:  make(map[string]*viStream),
		devCount: make(map[uint64]int32),
		netCount: make(map[uint64]int32),
	}
	d.ringLen = int((max(d.burstSpan, d.engSpan)+bucketMS-1)/bucketMS) + 2
	return d
}

func (d *viewerInflation) Kind() string { return KindViewerInflation }

func (d *viewerInflation) size() int {
	n := 0
	for _, st := range d.streams {
		n += st.sessions.Len()
	}
	return n
}

func (d *viewerInflation) stream(id string, ts int64) *viStream {
	st := d.streams[id]
	if st == nil {
		st = &viStream{
			firstTS: ts, lastTS: ts, droppedAt: math.MinInt64, lastEval: math.MinInt64,
			ring: make([]viBucket, d.ringLen),
		}
		for i := range st.ring {
			st.ring[i].idx = math.MinInt64
		}
		d.streams[id] = st
	}
	st.firstTS = min(st.firstTS, ts)
	st.lastTS = max(st.lastTS, ts)
	return st
}

// bucket returns the counters of ts's 10 s, or nil when the ring has moved past it.
func (st *viStream) bucket(ts int64) *viBucket {
	b := floorDiv(ts, bucketMS)
	n := int64(len(st.ring))
	slot := &st.ring[((b%n)+n)%n]
	if slot.idx != b {
		if b < slot.idx {
			return nil
		}
		*slot = viBucket{idx: b}
	}
	return slot
}

// counts sums joins and engagements over the buckets starting in [from, to).
func (st *viStream) counts(from, to int64, joins bool) int64 {
	var n int64
	for i := range st.ring {
		b := &st.ring[i]
		if b.idx == math.MinInt64 {
			continue
		}
		if s := b.idx * bucketMS; s >= from && s < to {
			if joins {
				n += int64(b.joins)
			} else {
				n += int64(b.engages)
			}
		}
	}
	return n
}

func (d *viewerInflation) Observe(ev *schemas.Event) {
	if ev.Kind != schemas.KindViewer {
		return
	}
	v := &ev.Viewer
	st := d.stream(v.StreamID, v.TS)
	act := v.Action
	switch act {
	case schemas.ActionCount:
		if !st.hasCount || v.TS >= st.countTS {
			st.countTS, st.countVal, st.hasCount = v.TS, v.ReportedViewers, true
		}
		return
	case schemas.ActionJoin:
		if b := st.bucket(v.TS); b != nil {
			b.joins++
		}
		if v.TS >= st.day {
			st.kol, st.brand, st.day = v.KOLID, v.BrandID, floorDiv(v.TS, dayMS)*dayMS
		}
	case schemas.ActionEngage:
		if b := st.bucket(v.TS); b != nil {
			b.engages++
		}
	case schemas.ActionHeartbeat, schemas.ActionLeave:
	default:
		return
	}
	key, ok := sessionKey(v)
	if !ok {
		return
	}
	sign := act == schemas.ActionHeartbeat || act == schemas.ActionEngage
	s := st.sessions.Get(key)
	switch {
	case s == nil || v.TS >= s.close(d.timeout): // no session open at this time: a new one
		if act == schemas.ActionLeave {
			return
		}
		if s == nil {
			if st.sessions.Len() >= d.c.MaxSessions {
				st.droppedAt = max(st.droppedAt, v.TS)
				return
			}
			s = st.sessions.Insert(key)
		}
		*s = viSession{first: v.TS, last: v.TS}
	case v.TS < s.first: // older than the session's start: it started earlier
		if act == schemas.ActionLeave {
			return
		}
		s.first = v.TS
	case act == schemas.ActionLeave:
		if !s.left || v.TS < s.leftAt {
			s.left, s.leftAt = true, v.TS
		}
	default:
		s.last = max(s.last, v.TS)
	}
	if sign && act != schemas.ActionLeave {
		s.signs++
	}
	if s.device == 0 && v.DeviceID != "" {
		s.device = nonZero(idhash.String(idhash.Device, v.DeviceID))
	}
	if s.net == 0 && v.IP != "" {
		s.net = netHash(v.IP)
	}
}

func (d *viewerInflation) Evaluate(t int64) []Finding {
	var out []Finding
	idle := subSat(t, d.idle)
	for id, st := range d.streams {
		if st.lastTS <= idle {
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

// viMetrics are one evaluation's measurements of one stream.
type viMetrics struct {
	sessions, concurrent                           int
	atCount                                        int // sessions open at the displayed count's time
	withDevice, crowdedDevSessions, crowdedDevices int
	withNet, crowdedNetSessions, crowdedNets       int
	aged, silent                                   int
	ended, cluster                                 int
	clusterLo, clusterHi                           int64
	joins, engages                                 int64
	joinsPerMin, engagePerViewerMin                float64
	ratio                                          float64 // median displayed ÷ measured
	ratioN                                         int
	sample                                         ratioSample
}

func (d *viewerInflation) measure(st *viStream, t int64) viMetrics {
	var m viMetrics
	lo := t - d.window
	clear(d.devCount)
	clear(d.netCount)
	dw := d.dwells[:0]
	st.sessions.Sweep(func(_ uint64, s *viSession) bool {
		cl := s.close(d.timeout)
		if cl < lo {
			return false // ended before the window
		}
		m.sessions++
		if cl >= t {
			m.concurrent++
		}
		if s.first <= st.countTS && cl > st.countTS {
			m.atCount++
		}
		if s.device != 0 {
			m.withDevice++
			d.devCount[s.device]++
		}
		if s.net != 0 {
			m.withNet++
			d.netCount[s.net]++
		}
		if t-s.first >= d.silentAfter {
			m.aged++
			if s.signs == 0 && (!s.left || s.leftAt-s.first >= d.silentAfter) {
				m.silent++
			}
		}
		if cl < t && (s.signs > 0 || s.left) {
			end := s.last
			if s.left {
				end = s.leftAt
			}
			if dwell := end - s.first; dwell >= 1000 {
				dw = append(dw, dwell)
			}
		}
		return true
	})
	for _, n := range d.devCount {
		if int(n) >= d.c.DeviceSessions {
			m.crowdedDevSessions += int(n)
			m.crowdedDevices++
		}
	}
	for _, n := range d.netCount {
		if int(n) >= d.c.IP24Sessions {
			m.crowdedNetSessions += int(n)
			m.crowdedNets++
		}
	}
	// The largest set of dwell times within a factor 1+band of each other.
	m.ended = len(dw)
	if len(dw) >= d.c.DwellMinEnded {
		slices.Sort(dw)
		j := 0
		for i := range dw {
			for float64(dw[i]) > float64(dw[j])*(1+d.c.DwellBand) {
				j++
			}
			if i-j+1 > m.cluster {
				m.cluster, m.clusterLo, m.clusterHi = i-j+1, dw[j], dw[i]
			}
		}
	}
	d.dwells = dw[:0]

	m.joins = st.counts(t-d.burstSpan, t, true)
	m.engages = st.counts(t-d.engSpan, t, false)
	m.joinsPerMin = float64(m.joins) * 60_000 / float64(d.burstSpan)
	if m.concurrent > 0 {
		m.engagePerViewerMin = float64(m.engages) / float64(m.concurrent) / (float64(d.engSpan) / 60_000)
	}

	// Displayed ÷ measured at the same instant (the count's), once the stream has been watched
	// long enough for its open sessions to show up, with a fresh count, all sessions tracked, and
	// some viewer events at all (a stream with counts but no viewer events is a data gap).
	if st.hasCount && st.countTS >= t-d.countMaxAge && st.countTS-st.firstTS >= d.warmup && st.droppedAt < lo && m.sessions > 0 {
		m.sample = ratioSample{ok: true, r: float64(st.countVal) / float64(max(m.atCount, 1))}
	}
	st.samples[st.nextS] = m.sample
	st.nextS = (st.nextS + 1) % len(st.samples)
	var rs [len(st.samples)]float64
	for _, s := range st.samples {
		if s.ok {
			rs[m.ratioN] = s.r
			m.ratioN++
		}
	}
	if m.ratioN > 0 {
		r := rs[:m.ratioN]
		slices.Sort(r)
		if m.ratioN%2 == 1 {
			m.ratio = r[m.ratioN/2]
		} else {
			m.ratio = (r[m.ratioN/2-1] + r[m.ratioN/2]) / 2
		}
	}
	return m
}

// viSignal is one fired signal.
type viSignal struct {
	name    string
	primary bool
	p       float64 // its weight in the score
}

// Signal names.
const (
	sigDisplayed  = "displayed_vs_measured"
	sigDevice     = "device_concentration"
	sigSilent     = "silent_sessions"
	sigBurst      = "join_burst"
	sigIP24       = "ip24_concentration"
	sigDwell      = "dwell_clustering"
	sigEngagement = "engagement_collapse"
)

func (d *viewerInflation) evalStream(id string, st *viStream, t int64) (Finding, bool) {
	m := d.measure(st, t)
	c := &d.c
	established := st.cleanMS >= d.baseAfter
	var buf [7]viSignal
	fired := buf[:0]
	extreme := false

	if m.ratioN >= 3 && st.countVal >= uint64(c.MinDisplayed) && m.ratio >= c.DisplayedRatio {
		p := 0.25 + 0.25*strength(m.ratio, c.DisplayedRatio, c.ExtremeRatio)
		if m.ratio >= c.ExtremeRatio {
			extreme = true
			p = 0.7 + 0.3*strength(m.ratio, c.ExtremeRatio, 2*c.ExtremeRatio)
		}
		fired = append(fired, viSignal{sigDisplayed, true, p})
	}
	if m.withDevice >= c.MinSessions {
		if share := float64(m.crowdedDevSessions) / float64(m.withDevice); share >= c.DeviceShare {
			fired = append(fired, viSignal{sigDevice, true, 0.25 + 0.25*strength(share, c.DeviceShare, min(1, 3*c.DeviceShare))})
		}
	}
	if m.aged >= c.MinSessions {
		if share := float64(m.silent) / float64(m.aged); share >= c.SilentShare {
			fired = append(fired, viSignal{sigSilent, true, 0.25 + 0.25*strength(share, c.SilentShare, min(1, 3*c.SilentShare))})
		}
	}
	if established && m.joins >= int64(c.BurstMinJoins) {
		if f := m.joinsPerMin / max(st.baseJoins.v, 1); f >= c.BurstFactor {
			fired = append(fired, viSignal{sigBurst, false, 0.1 + 0.1*strength(f, c.BurstFactor, 4*c.BurstFactor)})
		}
	}
	if m.withNet >= c.MinSessions {
		if share := float64(m.crowdedNetSessions) / float64(m.withNet); share >= c.IP24Share {
			fired = append(fired, viSignal{sigIP24, false, 0.1 + 0.1*strength(share, c.IP24Share, min(1, 2*c.IP24Share))})
		}
	}
	if m.ended >= c.DwellMinEnded {
		if share := float64(m.cluster) / float64(m.ended); share >= c.DwellShare {
			fired = append(fired, viSignal{sigDwell, false, 0.1 + 0.1*strength(share, c.DwellShare, 1)})
		}
	}
	// Against the stream's own level and its KOL's, whichever it falls further below.
	var eng engagement
	bases := [2]engagement{d.historyEngagement(st)}
	if established && st.baseEngage.ok {
		bases[1] = engagement{v: st.baseEngage.v}
	}
	for _, b := range bases {
		if b.v > 0 && (eng.v == 0 || b.v > eng.v) {
			eng = b
		}
	}
	if eng.v > 0 && m.concurrent >= c.MinSessions && t-st.firstTS >= d.engSpan {
		if rel := m.engagePerViewerMin / eng.v; rel <= c.EngagementCollapse {
			fired = append(fired, viSignal{sigEngagement, false, 0.1 + 0.1*strength(rel, c.EngagementCollapse, 0)})
		}
	}

	primaries := 0
	for _, s := range fired {
		if s.primary {
			primaries++
		}
	}
	found := extreme || (primaries >= 1 && len(fired) >= c.MinSignals)

	// Baselines learn from clean evaluations only, once the stream is warmed up.
	if !found && t-st.firstTS >= d.warmup {
		dt := int64(bucketMS)
		if st.lastEval != math.MinInt64 {
			dt = t - st.lastEval
		}
		st.baseJoins.add(m.joinsPerMin, dt, d.halfLife)
		if m.concurrent > 0 {
			st.baseEngage.add(m.engagePerViewerMin, dt, d.halfLife)
		}
		if m.sample.ok && m.sample.r < c.DisplayedRatio { // a lagging median must not teach inflation
			st.baseRatio.add(m.sample.r, dt, d.halfLife)
		}
		st.cleanMS += dt
	}
	st.lastEval = t
	if !found {
		return Finding{}, false
	}

	ps := make([]float64, len(fired))
	names := make([]string, len(fired))
	texts := make([]string, 0, len(fired)+2)
	measured := m.concurrent
	if st.hasCount && st.countTS >= t-d.countMaxAge {
		measured = m.atCount
		texts = append(texts, "displayed "+fmtInt(int64(st.countVal))+" viewers; "+fmtInt(int64(measured))+" measured sessions")
	} else {
		texts = append(texts, fmtInt(int64(measured))+" measured sessions")
	}
	for i, s := range fired {
		ps[i], names[i] = s.p, s.name
		texts = append(texts, d.describe(s.name, st, &m, established, eng))
	}
	score := round4(noisyOr(ps...))
	summary := strings.Join(texts, "; ") + ". Signals fired: " + strings.Join(names, ", ") + "."

	sig := map[string]float64{
		"measured_sessions":           float64(measured),
		"concurrent_sessions":         float64(m.concurrent),
		"sessions":                    float64(m.sessions),
		"displayed_ratio":             round4(m.ratio),
		"joins_per_min":               round4(m.joinsPerMin),
		"engagement_per_viewer_min":   round4(m.engagePerViewerMin),
		"crowded_devices":             float64(m.crowdedDevices),
		"crowded_networks":            float64(m.crowdedNets),
		"silent_sessions":             float64(m.silent),
		"device_share":                0,
		"silent_share":                0,
		"ip24_share":                  0,
		"dwell_cluster_share":         0,
		"ended_sessions":              float64(m.ended),
		"displayed_ratio_evaluations": float64(m.ratioN),
	}
	if st.hasCount {
		sig["displayed_viewers"] = float64(st.countVal)
	}
	if m.sample.ok {
		sig["displayed_ratio_last_report"] = round4(m.sample.r)
	}
	if m.withDevice > 0 {
		sig["device_share"] = round4(float64(m.crowdedDevSessions) / float64(m.withDevice))
	}
	if m.aged > 0 {
		sig["silent_share"] = round4(float64(m.silent) / float64(m.aged))
	}
	if m.withNet > 0 {
		sig["ip24_share"] = round4(float64(m.crowdedNetSessions) / float64(m.withNet))
	}
	if m.ended > 0 {
		sig["dwell_cluster_share"] = round4(float64(m.cluster) / float64(m.ended))
	}
	base := map[string]float64{
		"displayed_ratio_threshold": c.DisplayedRatio,
		"extreme_ratio":             c.ExtremeRatio,
		"silent_share_threshold":    c.SilentShare,
		"device_share_threshold":    c.DeviceShare,
		"ip24_share_threshold":      c.IP24Share,
		"dwell_share_threshold":     c.DwellShare,
	}
	if established {
		base["joins_per_min"] = round4(st.baseJoins.v)
		if st.baseRatio.ok {
			base["displayed_ratio"] = round4(st.baseRatio.v)
		}
	}
	for _, b := range bases {
		if b.v > 0 {
			base[b.prefix()+"engagement_per_viewer_min"] = round4(b.v)
		}
	}
	return Finding{
		StreamID: id, Score: score, Severity: d.sev.of(score),
		WindowStart: max(t-d.window, st.firstTS), WindowEnd: t,
		Evidence: Evidence{Summary: summary, Fired: names, Signals: sig, Baseline: base},
	}, true
}

// engagement is the engagement per viewer-minute a stream is measured against, and whose.
type engagement struct {
	v       float64
	scope   string // "": the stream's own; else ScopeKOL or ScopeBrand
	minutes int64  // the history's viewer-minutes
}

func (e engagement) prefix() string {
	if e.scope == "" {
		return ""
	}
	return e.scope + "_"
}

// historyEngagement is the engagement per viewer-minute of st's KOL's history, else its brand's,
// when it weighs HistoryViewerMinutes; v = 0: none.
func (d *viewerInflation) historyEngagement(st *viStream) engagement {
	if d.c.HistoryViewerMinutes <= 0 {
		return engagement{}
	}
	for _, k := range [...]HistoryKey{{ScopeKOL, st.kol, st.day}, {ScopeBrand, st.brand, st.day}} {
		if h := d.history[k]; k.ID != "" && h != nil && h.ViewerMinutes >= int64(d.c.HistoryViewerMinutes) {
			return engagement{v: float64(h.Engagements) / float64(h.ViewerMinutes), scope: k.Scope, minutes: h.ViewerMinutes}
		}
	}
	return engagement{}
}

// describe says in words what made signal name fire.
func (d *viewerInflation) describe(name string, st *viStream, m *viMetrics, established bool, eng engagement) string {
	c := &d.c
	window := fmtDur(d.window)
	switch name {
	case sigDisplayed:
		txt := "the displayed count is " + fmtX(m.ratio) + " the measured audience (median of the last minute"
		if m.sample.ok {
			txt = "the displayed count was " + fmtX(m.sample.r) + " the measured audience at its last report (median of the last minute " + fmtX(m.ratio)
		}
		txt += "; honest platforms show 1.0–1.3×"
		if st.baseRatio.ok && established {
			txt += ", this stream usually " + fmtX(st.baseRatio.v)
		}
		return txt + ")"
	case sigDevice:
		return fmtPct(float64(m.crowdedDevSessions)/float64(m.withDevice)) + " of the " + fmtInt(int64(m.withDevice)) +
			" sessions of the last " + window + " (" + fmtInt(int64(m.crowdedDevSessions)) + ") came from " +
			fmtInt(int64(m.crowdedDevices)) + " " + plural(int64(m.crowdedDevices), "device") + " with " +
			fmtInt(int64(c.DeviceSessions)) + " or more sessions each"
	case sigSilent:
		return fmtInt(int64(m.silent)) + " of " + fmtInt(int64(m.aged)) + " sessions older than " + fmtDur(d.silentAfter) + " (" +
			fmtPct(float64(m.silent)/float64(m.aged)) + ") never sent a heartbeat or an engagement (honest apps heartbeat every 20–30 s)"
	case sigBurst:
		return fmtInt(m.joins) + " joins in the last " + fmtDur(d.burstSpan) + ", " + fmtX(m.joinsPerMin/max(st.baseJoins.v, 1)) +
			" this stream's usual " + fmtNum(st.baseJoins.v) + " per minute"
	case sigIP24:
		return fmtPct(float64(m.crowdedNetSessions)/float64(m.withNet)) + " of sessions came from " + fmtInt(int64(m.crowdedNets)) +
			" " + plural(int64(m.crowdedNets), "network") + " (/24) with " + fmtInt(int64(c.IP24Sessions)) + " or more sessions each"
	case sigDwell:
		return fmtPct(float64(m.cluster)/float64(m.ended)) + " of the " + fmtInt(int64(m.ended)) + " sessions that ended in the last " +
			window + " lasted between " + fmtDur(m.clusterLo) + " and " + fmtDur(m.clusterHi) + " (people's dwell times spread far wider)"
	case sigEngagement:
		txt := fmtNum(m.engagePerViewerMin) + " engagements per viewer-minute over the last " + fmtDur(d.engSpan) + ", " +
			fmtPct(m.engagePerViewerMin/eng.v) + " of "
		if eng.scope == "" {
			return txt + "this stream's usual " + fmtNum(eng.v)
		}
		return txt + "the " + fmtNum(eng.v) + " its " + eng.scope + "'s streams usually have (over " + fmtInt(eng.minutes) +
			" viewer-minutes in the " + fmtInt(int64(d.historyDays)) + " days before)"
	}
	return name
}
