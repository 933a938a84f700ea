package detectors

import (
	"cmp"
	"math"
	"slices"

	"github.com/livepulse/livepulse/schemas"
)

// Engine runs the detectors of one partition (partition p of every event topic) in event time and
// turns their findings into flags, one per episode. It is not safe for concurrent use: the caller
// serializes Observe and Advance, as for metrics.Shard.
type Engine struct {
	cfg  Config
	step int64
	dets []Detector

	// done is the last evaluation time: events before it are late. math.MinInt64 until the first
	// evaluation.
	done int64
	wm   int64

	// Events at or after the next evaluation time wait here, in arrival order, until Advance
	// reaches their step. Kept by kind so a waiting event costs its member's size, not Event's.
	seq       []bufRef
	viewers   blocks[schemas.Viewer]
	orders    blocks[schemas.Order]
	refunds   blocks[schemas.Refund]
	ready     []bufRef // scratch for Advance
	keep      []bufRef
	feedEvent schemas.Event // the event passed to detectors

	streams  map[string]*streamInfo
	episodes map[episodeKey]*episode
	emit     []Flag // scratch: this step's emissions

	late uint64

	// history: KOL and brand histories given by SetHistory (nil value: asked for, not given yet);
	// missing: keys noted since the last MissingHistory. history is nil when unused.
	history map[HistoryKey]*History
	missing []HistoryKey
}

type bufRef struct {
	ts   int64
	kind schemas.Kind
	idx  int32
}

// streamInfo is what the engine knows of a stream: its labels, for flags, and its newest event.
type streamInfo struct {
	kol, brand, platform string
	lastTS               int64
}

type episodeKey struct {
	det    int // index in Engine.dets
	stream string
}

// episode is an open flag.
type episode struct {
	flag   Flag  // current state: peak score, severity and evidence; window so far
	seenAt int64 // the last evaluation with a finding
	clean  int   // consecutive evaluations without a finding
	// what was last emitted, and when (event time), to tell material changes
	sentScore float64
	sentSev   Severity
	sentAt    int64
}

// NewEngine returns an engine running the enabled detectors of cfg, which must be valid (see
// Config.Validate; ParseConfig and DefaultConfig give valid ones). It panics on an invalid one.
func NewEngine(cfg Config) *Engine {
	if err := cfg.Validate(); err != nil {
		panic("detectors: invalid config: " + err.Error())
	}
	e := &Engine{
		cfg: cfg, step: cfg.EvaluateEvery.ms(),
		done: math.MinInt64, wm: math.MinInt64,
		streams:  make(map[string]*streamInfo),
		episodes: make(map[episodeKey]*episode),
	}
	if cfg.HistoryDays > 0 && (cfg.ViewerInflation.Enabled || cfg.RefundSpike.Enabled) {
		e.history = make(map[HistoryKey]*History)
	}
	if cfg.ViewerInflation.Enabled {
		vi := NewViewerInflation(cfg).(*viewerInflation)
		vi.history = e.history
		e.dets = append(e.dets, vi)
	}
	if cfg.RefundSpike.Enabled {
		rs := NewRefundSpike(cfg).(*refundSpike)
		rs.history = e.history
		e.dets = append(e.dets, rs)
	}
	if cfg.OrderBrushing.Enabled {
		e.dets = append(e.dets, NewOrderBrushing(cfg))
	}
	return e
}

// Observe takes one valid event of the partition. An event before the last evaluation time is
// late: with a correct watermark that cannot happen (its time would be behind the watermark the
// evaluation was made at), so it is only counted (Stats.Late), which keeps evaluations a function
// of the events. Events at or after the next evaluation time wait for Advance; others go to the
// detectors at once.
func (e *Engine) Observe(ev *schemas.Event) {
	switch ev.Kind {
	case schemas.KindViewer, schemas.KindOrder, schemas.KindRefund:
	default:
		return
	}
	ts := ev.Header().TS
	if e.done != math.MinInt64 {
		if ts < e.done {
			e.late++
			return
		}
	}
	e.noteHistory(ev)
	if e.done != math.MinInt64 {
		if ts < e.done+e.step { // nothing of its step waits (Advance releases those)
			e.feed(ev)
			return
		}
	}
	r := bufRef{ts: ts, kind: ev.Kind}
	switch ev.Kind {
	case schemas.KindViewer:
		r.idx = e.viewers.append(ev.Viewer)
	case schemas.KindOrder:
		r.idx = e.orders.append(ev.Order)
	case schemas.KindRefund:
		r.idx = e.refunds.append(ev.Refund)
	}
	e.seq = append(e.seq, r)
}

// feed passes one event to the detectors.
func (e *Engine) feed(ev *schemas.Event) {
	h := ev.Header()
	st := e.streams[h.StreamID]
	if st == nil {
		st = &streamInfo{lastTS: h.TS}
		e.streams[h.StreamID] = st
	}
	st.lastTS = max(st.lastTS, h.TS)
	if h.KOLID != "" {
		st.kol = h.KOLID
	}
	if h.BrandID != "" {
		st.brand = h.BrandID
	}
	if h.Platform != "" {
		st.platform = h.Platform
	}
	for _, d := range e.dets {
		d.Observe(ev)
	}
}

func (e *Engine) feedRef(r bufRef) {
	ev := &e.feedEvent
	ev.Kind = r.kind
	switch r.kind {
	case schemas.KindViewer:
		ev.Viewer = *e.viewers.at(r.idx)
	case schemas.KindOrder:
		ev.Order = *e.orders.at(r.idx)
	case schemas.KindRefund:
		ev.Refund = *e.refunds.at(r.idx)
	}
	e.feed(ev)
}

// Advance moves event time to watermark: it evaluates every step t (a multiple of EvaluateEvery)
// with last evaluation < t ≤ watermark, in order, each over the events before t, and returns the
// flags that opened, changed materially (peak score up by UpdateScoreDelta, or severity up) or
// closed at those steps, in step order, then kind, then stream. The concatenated results of all
// calls do not depend on how often Advance is called, provided every event arrives ahead of the
// watermark (the watermark's contract). A watermark below a previous one changes nothing.
func (e *Engine) Advance(watermark int64) []Flag {
	e.wm = max(e.wm, watermark)
	if e.wm == math.MinInt64 {
		return nil
	}
	target := floorDiv(e.wm, e.step) * e.step // the last step ≤ watermark
	if e.done != math.MinInt64 && target <= e.done {
		return nil
	}
	// Split the waiting events: those before target are released (sorted by step, arrival order
	// within a step), the others keep waiting.
	ready, keep := e.ready[:0], e.keep[:0]
	first := int64(math.MaxInt64)
	for _, r := range e.seq {
		if r.ts < target {
			ready = append(ready, r)
			first = min(first, r.ts)
		} else {
			keep = append(keep, r)
		}
	}
	slices.SortStableFunc(ready, func(a, b bufRef) int {
		return cmp.Compare(floorDiv(a.ts, e.step), floorDiv(b.ts, e.step))
	})
	var out []Flag
	t := e.done
	if t == math.MinInt64 {
		if len(ready) == 0 {
			e.ready, e.keep = ready[:0], keep[:0] // reused by the next call, as below
			return nil                            // nothing before target yet: no step to evaluate
		}
		t = floorDiv(first, e.step) * e.step // so that the first step is the one containing first
	}
	i := 0
	for t < target {
		t += e.step
		if len(e.streams) == 0 && len(e.episodes) == 0 {
			// Nothing is tracked, so evaluations change nothing: jump to the step of the next
			// waiting event, or to the target.
			if i == len(ready) {
				t = target
				e.done = t
				break
			}
			t = max(t, (floorDiv(ready[i].ts, e.step)+1)*e.step)
		}
		for i < len(ready) && ready[i].ts < t {
			e.feedRef(ready[i])
			i++
		}
		out = e.evaluate(t, out)
		e.done = t
	}
	// Events of the next step can go to the detectors now: no evaluation comes before it, and
	// later arrivals of that step are fed directly, after them.
	n := 0
	for _, r := range keep {
		if r.ts < e.done+e.step {
			e.feedRef(r)
		} else {
			keep[n] = r
			n++
		}
	}
	e.compact(keep[:n])
	e.ready, e.keep = ready[:0], keep[:0]
	return out
}

// compact keeps only the waiting events listed in keep (in arrival order), reusing the buffers.
func (e *Engine) compact(keep []bufRef) {
	var nv, no, nr int32
	for j := range keep {
		r := &keep[j]
		switch r.kind {
		case schemas.KindViewer:
			*e.viewers.at(nv) = *e.viewers.at(r.idx)
			r.idx = nv
			nv++
		case schemas.KindOrder:
			*e.orders.at(no) = *e.orders.at(r.idx)
			r.idx = no
			no++
		case schemas.KindRefund:
			*e.refunds.at(nr) = *e.refunds.at(r.idx)
			r.idx = nr
			nr++
		}
	}
	e.viewers.truncate(nv) // releases the strings
	e.orders.truncate(no)
	e.refunds.truncate(nr)
	e.seq = append(e.seq[:0], keep...)
}

// evaluate runs every detector at t and tracks episodes, appending this step's emissions to out.
func (e *Engine) evaluate(t int64, out []Flag) []Flag {
	emit := e.emit[:0]
	for di, d := range e.dets {
		for _, f := range d.Evaluate(t) {
			k := episodeKey{det: di, stream: f.StreamID}
			ep := e.episodes[k]
			if ep == nil {
				st := e.streams[f.StreamID]
				if st == nil {
					st = &streamInfo{}
				}
				ep = &episode{flag: Flag{
					FlagID: flagID(d.Kind(), f.StreamID, t), Kind: d.Kind(), StreamID: f.StreamID,
					KOLID: st.kol, BrandID: st.brand, Platform: st.platform,
					Severity: f.Severity, Score: f.Score, WindowStart: f.WindowStart, WindowEnd: f.WindowEnd,
					DetectedAt: t, State: StateOpen, Evidence: f.Evidence,
				}}
				ep.seenAt = t
				e.episodes[k] = ep
				emit = append(emit, ep.send())
				continue
			}
			ep.clean, ep.seenAt = 0, t
			fl := &ep.flag
			fl.WindowStart = min(fl.WindowStart, f.WindowStart)
			fl.WindowEnd = max(fl.WindowEnd, f.WindowEnd)
			if f.Score > fl.Score {
				fl.Score, fl.Severity, fl.Evidence = f.Score, f.Severity, f.Evidence
			}
			if fl.Severity.rank() > ep.sentSev.rank() || fl.Score >= ep.sentScore+e.cfg.UpdateScoreDelta ||
				t-ep.sentAt >= e.cfg.RefreshEvery.ms() {
				fl.DetectedAt = t
				emit = append(emit, ep.send())
			}
		}
	}
	for k, ep := range e.episodes {
		if ep.seenAt == t {
			continue
		}
		ep.clean++
		if ep.clean >= e.cfg.CloseAfter {
			ep.flag.State, ep.flag.DetectedAt = StateClosed, t
			emit = append(emit, ep.send())
			delete(e.episodes, k)
		}
	}
	e.forgetHistory(t)
	// Forget idle streams; their detectors' state went at the same time (same rule).
	idle := subSat(t, e.cfg.StreamIdle.ms())
	for id, st := range e.streams {
		if st.lastTS <= idle && !e.hasEpisode(id) {
			delete(e.streams, id)
		}
	}
	slices.SortFunc(emit, func(a, b Flag) int {
		return cmp.Or(cmp.Compare(e.kindIndex(a.Kind), e.kindIndex(b.Kind)), cmp.Compare(a.StreamID, b.StreamID))
	})
	out = append(out, emit...)
	clear(emit)
	e.emit = emit[:0]
	return out
}

// send returns a copy of the episode's flag to emit, remembering what was sent.
func (ep *episode) send() Flag {
	ep.sentScore, ep.sentSev, ep.sentAt = ep.flag.Score, ep.flag.Severity, ep.flag.DetectedAt
	f := ep.flag
	f.Evidence = f.Evidence.clone()
	return f
}

func (e *Engine) hasEpisode(stream string) bool {
	for di := range e.dets {
		if _, ok := e.episodes[episodeKey{det: di, stream: stream}]; ok {
			return true
		}
	}
	return false
}

func (e *Engine) kindIndex(kind string) int {
	for i, d := range e.dets {
		if d.Kind() == kind {
			return i
		}
	}
	return len(e.dets)
}

// EngineStats describes an engine's state, for monitoring.
type EngineStats struct {
	Streams   int    // streams tracked
	Waiting   int    // events waiting for their evaluation step
	OpenFlags int    // episodes open
	Late      uint64 // events dropped as late (before the last evaluation time)
	// State counts the items the detectors keep (sessions, orders, viewer → device entries).
	State int
}

// Stats returns the engine's current size.
func (e *Engine) Stats() EngineStats {
	s := EngineStats{Streams: len(e.streams), Waiting: len(e.seq), OpenFlags: len(e.episodes), Late: e.late}
	for _, d := range e.dets {
		if z, ok := d.(interface{ size() int }); ok {
			s.State += z.size()
		}
	}
	return s
}

// Watermark returns the highest watermark given to Advance (math.MinInt64 before any).
func (e *Engine) Watermark() int64 { return e.wm }
