package metrics

import (
	"cmp"
	"context"
	"math"
	"slices"
	"unsafe"

	"github.com/livepulse/livepulse/schemas"
	"github.com/livepulse/livepulse/schemas/idhash"
)

// Shard aggregates the events of one partition number (partition p of every event topic: the
// topics are co-partitioned by stream) into per-stream, per-minute rows. It is not safe for
// concurrent use: the caller serializes Add, Advance and Flush.
type Shard struct {
	part   int32
	p      params
	lookup OrderLookup

	wm          int64 // highest watermark given to Advance
	finalBefore int64 // minutes starting before this are final (closed by Advance)

	streams  map[string]*stream
	orders   map[string]orderMem
	orderQ   []queuedOrder
	pending  map[string][]pendingRefund // by order id
	pendingN int

	free    []*minute // closed minutes for reuse
	scratch []change  // for minute.summarize

	lateDropped, lookupErrors uint64
}

// maxFree bounds the recycled minutes a shard keeps.
const maxFree = 4096

// NewShard returns an empty shard for partition number partition. lookup may be nil: refunds whose
// order is not in memory are then unmatched.
func NewShard(partition int32, cfg Config, lookup OrderLookup) *Shard {
	return &Shard{
		part: partition, p: newParams(cfg), lookup: lookup,
		wm: math.MinInt64, finalBefore: math.MinInt64,
		streams: make(map[string]*stream),
		orders:  make(map[string]orderMem),
		pending: make(map[string][]pendingRefund),
	}
}

// firstOpenMinute returns the start of the earliest minute that watermark w does not make final:
// minute m is final when m + 1 min + lateness ≤ w.
func (sh *Shard) firstOpenMinute(w int64) int64 {
	if w == math.MinInt64 {
		return math.MinInt64
	}
	return minuteOf(subSat(w, sh.p.lateness))
}

// subSat returns a-b (b ≥ 0) without wrapping below math.MinInt64.
func subSat(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

// Add counts ev, a valid event, given the current watermark. It returns late = true when ev's
// minute is already final (its end + AllowedLateness ≤ watermark, or a minute Advance already
// closed): the event then counts only in late_events, and the caller stores it with late=1.
func (sh *Shard) Add(ev *schemas.Event, watermark int64) (late bool) {
	h := ev.Header()
	switch ev.Kind {
	case schemas.KindViewer, schemas.KindOrder, schemas.KindRefund:
	default:
		return false
	}
	st := sh.streamFor(h)
	m := minuteOf(h.TS)
	if m < sh.firstOpenMinute(max(watermark, sh.wm)) {
		sh.countLate(st, m)
		return true
	}
	st.lastTS = max(st.lastTS, h.TS)
	switch ev.Kind {
	case schemas.KindViewer:
		sh.addViewer(st, &ev.Viewer, m)
	case schemas.KindOrder:
		o := &ev.Order
		b := sh.minuteFor(st, m)
		b.active = true
		b.orders++
		b.gmv += o.Amount
		b.buyers.add(idhash.String(idhash.ID, o.BuyerID), sh.p.exact)
		sh.rememberOrder(o.OrderID, st.lab, o.TS)
	case schemas.KindRefund:
		sh.addRefund(st, &ev.Refund)
	}
	return false
}

func (sh *Shard) addViewer(st *stream, v *schemas.Viewer, m int64) {
	b := sh.minuteFor(st, m)
	b.active = true
	switch v.Action {
	case schemas.ActionCount:
		b.countEvts++
		if !b.hasReported || v.TS >= b.reportedTS { // the latest count; on a tie the later added
			b.reported, b.reportedTS, b.hasReported = v.ReportedViewers, v.TS, true
		}
		return
	case schemas.ActionJoin:
		b.joins++
	case schemas.ActionLeave:
		b.leaves++
	case schemas.ActionHeartbeat:
		b.heartbeats++
	case schemas.ActionEngage:
		b.engages++
	default:
		return
	}
	if v.ViewerID != "" {
		b.viewers.add(idhash.String(idhash.Viewer, v.ViewerID), sh.p.exact)
	}
	if key, ok := sessionKey(v); ok {
		sh.applySession(st, key, v.Action, v.TS)
	}
}

// Advance closes what watermark allows and returns the rows to write, sorted by (stream, minute):
// every minute whose end ≤ watermark that was never emitted or changed since its last emission,
// of every stream. Minutes whose end + AllowedLateness ≤ watermark are final: emitted one last
// time if changed, then forgotten. Refunds waiting for their order are resolved first, with one
// OrderLookup call. Version and EmittedAt are left 0 for the caller. A minute with no event,
// refund or late event of the stream makes no row, even if sessions were open in it.
func (sh *Shard) Advance(ctx context.Context, watermark int64) []MinuteRow {
	sh.wm = max(sh.wm, watermark)
	if sh.wm == math.MinInt64 {
		return nil
	}
	w := sh.wm
	finalBefore := sh.firstOpenMinute(w)
	sh.resolvePending(ctx, finalBefore)
	var out []MinuteRow
	for _, st := range sh.streams {
		out = sh.advanceStream(st, w, finalBefore, out)
		out = sh.emitFinals(st, w, out)
	}
	sh.finalBefore = max(sh.finalBefore, finalBefore)
	sh.expireOrders(w)
	for id, st := range sh.streams {
		if len(st.minutes) == 0 && len(st.finals) == 0 && st.sessions.Len() == 0 && st.lastTS <= subSat(w, sh.p.streamIdle) {
			delete(sh.streams, id)
		}
	}
	slices.SortFunc(out, func(a, b MinuteRow) int {
		if c := cmp.Compare(a.StreamID, b.StreamID); c != 0 {
			return c
		}
		return cmp.Compare(a.Minute, b.Minute)
	})
	return out
}

// advanceStream emits st's ended minutes that changed and closes its final ones.
func (sh *Shard) advanceStream(st *stream, w, finalBefore int64, out []MinuteRow) []MinuteRow {
	carry, closed := st.carry, 0
	for i, b := range st.minutes {
		if b.start+minuteMS > w {
			break
		}
		if b.dirty {
			b.summarize(&sh.scratch)
		}
		final := b.start < finalBefore
		if b.active {
			n, watch := sh.ended(st, b, w, final)
			f := b.figures(carry, n, watch)
			if !b.emitted || f != b.last {
				out = append(out, f.row(b.start, st.lab, sh.part))
				b.last, b.emitted = f, true
			}
		}
		carry += b.net
		if final {
			closed = i + 1
			st.carry = carry
			if b.active {
				st.finals = append(st.finals, finalRow{minute: b.start, f: b.last})
			}
		}
	}
	if closed > 0 {
		for _, b := range st.minutes[:closed] {
			sh.recycle(b)
		}
		st.minutes = append(st.minutes[:0], st.minutes[closed:]...)
		clear(st.minutes[len(st.minutes) : closed+len(st.minutes)])
		st.dropSessions(finalBefore)
	}
	return out
}

// Flush emits every open minute regardless of the watermark, by the same rules: it advances to
// the smallest watermark that makes all of them final. Later events for those minutes are late.
func (sh *Shard) Flush(ctx context.Context) []MinuteRow {
	w := sh.wm
	for _, st := range sh.streams {
		if n := len(st.minutes); n > 0 {
			w = max(w, st.minutes[n-1].start+minuteMS+sh.p.lateness)
		}
	}
	for _, list := range sh.pending {
		for _, r := range list {
			w = max(w, minuteOf(r.ts)+minuteMS+sh.p.lateness)
		}
	}
	return sh.Advance(ctx, w)
}

// Live returns the current figures of stream's open minutes that have a row, ascending: minutes
// not ended yet included, session ends shown as the watermark confirms them. For the API and
// detectors; nil for an unknown stream.
func (sh *Shard) Live(streamID string) []MinuteRow {
	st := sh.streams[streamID]
	if st == nil {
		return nil
	}
	var out []MinuteRow
	carry := st.carry
	for _, b := range st.minutes {
		if b.dirty {
			b.summarize(&sh.scratch)
		}
		if b.active {
			n, watch := sh.ended(st, b, sh.wm, false)
			f := b.figures(carry, n, watch)
			out = append(out, f.row(b.start, st.lab, sh.part))
		}
		carry += b.net
	}
	return out
}

// minuteFor returns st's open minute m, creating it. It returns nil for a minute already final,
// which only a late event could ask for (Add filters those).
func (sh *Shard) minuteFor(st *stream, m int64) *minute {
	if b := st.minute(m); b != nil {
		return b
	}
	if m < sh.finalBefore {
		return nil
	}
	var b *minute
	if n := len(sh.free); n > 0 {
		b = sh.free[n-1]
		sh.free[n-1] = nil
		sh.free = sh.free[:n-1]
		b.reset(m)
	} else {
		b = &minute{start: m}
	}
	st.insert(b)
	return b
}

func (sh *Shard) recycle(b *minute) {
	if len(sh.free) < maxFree {
		sh.free = append(sh.free, b)
	}
}

// streamFor returns the stream of an event's header, creating it; the labels come from the
// stream's own events.
func (sh *Shard) streamFor(h *schemas.Header) *stream {
	st := sh.streams[h.StreamID]
	if st == nil {
		lab := &streamLabels{id: h.StreamID}
		lab.setFrom(h)
		st = &stream{lab: lab, lastTS: math.MinInt64}
		sh.streams[h.StreamID] = st
	} else if !st.lab.own {
		st.lab.setFrom(h)
	}
	return st
}

// streamOf returns the stream labelled lab, creating it with those labels.
func (sh *Shard) streamOf(lab *streamLabels) *stream {
	st := sh.streams[lab.id]
	if st == nil {
		st = &stream{lab: lab, lastTS: math.MinInt64}
		sh.streams[lab.id] = st
	}
	return st
}

// ShardStats describes a shard's state, for monitoring and the memory benchmark.
type ShardStats struct {
	Streams        int    // streams held
	Sessions       int    // sessions tracked (open, or ended in a minute not final yet)
	OpenMinutes    int    // (stream, minute) states not final yet
	FinalRows      int    // final rows kept for late events
	Orders         int    // orders kept for refund attribution
	PendingRefunds int    // refunds waiting for their order
	LateDropped    uint64 // late events beyond LateRetention, counted in no row
	LookupErrors   uint64 // failed OrderLookup calls
	Bytes          int64  // approximate memory of all the above
}

// Approximate sizes for ShardStats.Bytes. Map entries are counted at about twice their payload
// (Go's swiss tables keep a control byte per slot, a load factor up to 7/8 and grow by doubling).
const (
	minuteSize  = int64(unsafe.Sizeof(minute{})) + 8 // + the pointer in stream.minutes
	changeSize  = int64(unsafe.Sizeof(change{}))
	streamSize  = int64(unsafe.Sizeof(stream{})+unsafe.Sizeof(streamLabels{})) + 2*(16+8)
	orderSize   = 2*int64(16+unsafe.Sizeof(orderMem{})) + int64(unsafe.Sizeof(queuedOrder{}))
	finalSize   = int64(unsafe.Sizeof(finalRow{}))
	pendingSize = int64(unsafe.Sizeof(pendingRefund{})) + 2*(16+24)
)

// Stats returns the shard's current size.
func (sh *Shard) Stats() ShardStats {
	s := ShardStats{
		Streams: len(sh.streams), Orders: len(sh.orders), PendingRefunds: sh.pendingN,
		LateDropped: sh.lateDropped, LookupErrors: sh.lookupErrors,
	}
	for id, st := range sh.streams {
		s.Sessions += st.sessions.Len()
		s.OpenMinutes += len(st.minutes)
		s.FinalRows += len(st.finals)
		s.Bytes += streamSize + int64(len(id)+len(st.lab.kol)+len(st.lab.brand)+len(st.lab.platform))
		s.Bytes += st.sessions.Bytes() + int64(cap(st.finals))*finalSize
		for _, b := range st.minutes {
			s.Bytes += b.bytes()
		}
	}
	for id := range sh.orders {
		s.Bytes += orderSize + int64(len(id))
	}
	s.Bytes += int64(sh.pendingN) * pendingSize
	for _, b := range sh.free {
		s.Bytes += b.bytes()
	}
	return s
}
