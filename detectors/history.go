package detectors

import "github.com/livepulse/livepulse/schemas"

// History is what the store knows of a KOL or a brand before a day. A stream that has no baseline
// of its own yet is judged against its KOL's (else its brand's): refund_spike against their usual
// share of orders refunded within refund_spike.window, viewer_inflation's engagement collapse
// against their audiences' usual engagements per viewer-minute — a partition's memory holds only
// the streams of that partition and only since the process started, the store holds every stream
// of every day.
//
// The history of a day is the HistoryDays before it (UTC midnight), so it is the same live and in
// a replay: those days are settled when the day is live. The engine lists the keys it lacks
// (MissingHistory); the caller reads them from the store (rollup.LookupHistory) and gives them
// back (SetHistory) before Advance, so evaluations are a function of the stored data.
type History struct {
	Orders   int64 // orders placed in the HistoryDays before the day
	Refunded int64 // ...refunded within refund_spike.window of being placed
	// ViewerMinutes is the audience of its streams in those days, summed over their minutes
	// (open sessions at each minute's end); Engagements the engagements they sent.
	ViewerMinutes int64
	Engagements   int64
}

// HistoryKey names the history of a KOL ("kol") or a brand ("brand") before Day (Unix ms of a
// UTC midnight).
type HistoryKey struct {
	Scope, ID string
	Day       int64
}

// History scopes.
const (
	ScopeKOL   = "kol"
	ScopeBrand = "brand"
)

const dayMS = 24 * 60 * 60 * 1000

// historyKeys are the keys an event's stream needs (its KOL's and brand's, before its day).
func historyKeys(h *schemas.Header) [2]HistoryKey {
	day := floorDiv(h.TS, dayMS) * dayMS
	return [2]HistoryKey{{ScopeKOL, h.KOLID, day}, {ScopeBrand, h.BrandID, day}}
}

// noteHistory records the history keys of an order's or a join's stream not known or asked for
// yet (the other events of a stream come with or after those).
func (e *Engine) noteHistory(ev *schemas.Event) {
	if e.history == nil {
		return
	}
	var h *schemas.Header
	switch {
	case ev.Kind == schemas.KindOrder:
		h = &ev.Order.Header
	case ev.Kind == schemas.KindViewer && ev.Viewer.Action == schemas.ActionJoin:
		h = &ev.Viewer.Header
	default:
		return
	}
	for _, k := range historyKeys(h) {
		if k.ID == "" {
			continue
		}
		if _, ok := e.history[k]; !ok {
			e.history[k] = nil
			e.missing = append(e.missing, k)
		}
	}
}

// MissingHistory returns the history keys the engine needs and was not given yet (nil when
// refund_spike or its history is off). Give each with SetHistory before the next Advance.
func (e *Engine) MissingHistory() []HistoryKey {
	m := e.missing
	e.missing = nil
	return m
}

// SetHistory gives the engine the history of k (zero History: none).
func (e *Engine) SetHistory(k HistoryKey, h History) {
	if e.history != nil {
		e.history[k] = &h
	}
}

// ForgetHistory un-asks k (its lookup failed): MissingHistory lists it again.
func (e *Engine) ForgetHistory(k HistoryKey) {
	if e.history != nil && e.history[k] == nil {
		e.missing = append(e.missing, k)
	}
}

// HistoryDays is how many days before a stream's day its KOL's and brand's history covers (0:
// none is used), and HistoryWindow the refund delay that counts (refund_spike.window), for the
// caller reading it from the store.
func (e *Engine) HistoryDays() int { return e.cfg.HistoryDays }

// HistoryWindow: see HistoryDays.
func (e *Engine) HistoryWindow() int64 { return e.cfg.RefundSpike.Window.ms() }

// forgetHistory drops histories of days before the one before t: streams of those days are long
// idle (stream_idle is at most a day's worth in practice) and a new order asks again.
func (e *Engine) forgetHistory(t int64) {
	for k := range e.history {
		if k.Day < t-2*dayMS {
			delete(e.history, k)
		}
	}
}
