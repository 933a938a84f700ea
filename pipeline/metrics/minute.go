package metrics

import (
	"cmp"
	"slices"

	"github.com/livepulse/livepulse/schemas"
)

const minuteMS = 60_000

// minuteOf returns the start of ts's minute (floor, also before 1970).
func minuteOf(ts int64) int64 {
	r := ts % minuteMS
	if r < 0 {
		r += minuteMS
	}
	return ts - r
}

// figures are a row's numbers: what is compared to decide whether a minute changed since its
// last emission, and what a final minute keeps for late events.
type figures struct {
	GMV, RefundAmount, UnmatchedRefundAmount                        schemas.Money
	Orders, Buyers, Refunds, RefundedOrders, UnmatchedRefunds       uint64
	Joins, Leaves, Heartbeats, Engagements, UniqueViewers           uint64
	ConcurrentViewers, PeakConcurrent, ReportedViewers, CountEvents uint64
	SessionsEnded, WatchMSEnded, LateEvents                         uint64
}

func (f *figures) row(m int64, lab *streamLabels, part int32) MinuteRow {
	return MinuteRow{
		Minute: m, StreamID: lab.id, Partition: part, KOLID: lab.kol, BrandID: lab.brand, Platform: lab.platform,
		GMV: f.GMV, Orders: f.Orders, Buyers: f.Buyers, Refunds: f.Refunds, RefundAmount: f.RefundAmount,
		RefundedOrders: f.RefundedOrders, UnmatchedRefunds: f.UnmatchedRefunds, UnmatchedRefundAmount: f.UnmatchedRefundAmount,
		Joins: f.Joins, Leaves: f.Leaves, Heartbeats: f.Heartbeats, Engagements: f.Engagements,
		UniqueViewers: f.UniqueViewers, ConcurrentViewers: f.ConcurrentViewers, PeakConcurrent: f.PeakConcurrent,
		ReportedViewers: f.ReportedViewers, CountEvents: f.CountEvents, SessionsEnded: f.SessionsEnded,
		WatchMSEnded: f.WatchMSEnded, LateEvents: f.LateEvents,
	}
}

// change is one step of the open-session count inside a minute: a session opening (+1) or
// closing (−1) at t. Sessions keep the index of their changes, so a change is edited in place or,
// when it moves to another minute, turned into a tombstone (d = 0); entries are never removed, so
// the indexes stay valid.
type change struct {
	t     int64
	dwell uint32 // closeTimeout: last_seen − join, ms (saturated), for not-yet-confirmed ends
	d     int8   // +1, −1, 0 (tombstone)
	kind  uint8
}

const (
	changeOpen         uint8 = iota
	changeCloseTimeout       // close at last_seen + timeout; the end is counted in last_seen's minute
	changeCloseLeave         // close at a leave; the end is counted in this minute
	changeCloseFrozen        // close of a session whose end was counted in a minute already final
	changeTombstone          // moved to another minute (d = 0)
)

// minute is the open state of one stream's one event-time minute.
type minute struct {
	start  int64
	active bool // an event of the stream, a refund or a late event fell in it: it makes a row

	orders, refunds, unmatched                    uint64
	gmv, refundAmount, unmatchedAmount            schemas.Money
	joins, leaves, heartbeats, engages, countEvts uint64
	late                                          uint64
	reported                                      uint64
	reportedTS                                    int64
	hasReported                                   bool
	buyers, viewers, refundedOrders               distinct

	// Session ends counted in this minute: sessions that left in it, and sessions whose last
	// sign of life is in it (their timeout end; provisional until the watermark passes
	// last_seen + timeout). Signed: moving an end out may precede moving another in.
	leftEnded, leftWatch       int64
	timeoutEnded, timeoutWatch int64

	// The open-session count: changes in this minute, summarized by net (their sum) and best
	// (the highest prefix sum over distinct instants, or 0 when the minute starts unchanged).
	// concurrent(end) = carry + net; peak = carry + best, carry being the previous minute's
	// concurrent count.
	changes   []change
	net, best int64
	dirty     bool // changes edited since net and best were computed

	emitted bool
	last    figures // as last emitted
}

// addChange appends a change and returns its index.
func (b *minute) addChange(c change) int32 {
	b.changes = append(b.changes, c)
	b.dirty = true
	return int32(len(b.changes) - 1)
}

// summarize computes net and best from the changes, sorting a copy in scratch (the changes
// themselves must keep their order: sessions point at them).
func (b *minute) summarize(scratch *[]change) {
	b.dirty = false
	s := append((*scratch)[:0], b.changes...)
	*scratch = s
	slices.SortFunc(s, func(x, y change) int { return cmp.Compare(x.t, y.t) })
	var run, best int64
	started := len(s) > 0 && s[0].t == b.start // else the minute starts with the carried count
	if started {
		best = -1 << 62
	}
	for i := 0; i < len(s); {
		t := s[i].t
		for ; i < len(s) && s[i].t == t; i++ { // an instant's opens and closes together
			run += int64(s[i].d)
		}
		best = max(best, run)
	}
	b.net, b.best = run, best
}

// figures computes the row of b. carry is the open-session count at the previous minute's end;
// endedN/endedW are the session ends to report (see Shard.ended).
func (b *minute) figures(carry int64, endedN, endedW int64) figures {
	pos := func(v int64) uint64 { return uint64(max(v, 0)) }
	f := figures{
		GMV: b.gmv, RefundAmount: b.refundAmount, UnmatchedRefundAmount: b.unmatchedAmount,
		Orders: b.orders, Buyers: b.buyers.count(), Refunds: b.refunds, RefundedOrders: b.refundedOrders.count(),
		UnmatchedRefunds: b.unmatched,
		Joins:            b.joins, Leaves: b.leaves, Heartbeats: b.heartbeats, Engagements: b.engages,
		UniqueViewers:     b.viewers.count(),
		ConcurrentViewers: pos(carry + b.net), PeakConcurrent: pos(carry + b.best),
		CountEvents:   b.countEvts,
		SessionsEnded: pos(endedN), WatchMSEnded: pos(endedW),
		LateEvents: b.late,
	}
	if b.hasReported {
		f.ReportedViewers = b.reported
	}
	return f
}

// reset clears b for reuse by another stream or minute.
func (b *minute) reset(start int64) {
	buyers, viewers, refunded, changes := b.buyers, b.viewers, b.refundedOrders, b.changes
	buyers.reset()
	viewers.reset()
	refunded.reset()
	if cap(changes) > 1024 {
		changes = nil
	}
	*b = minute{start: start, buyers: buyers, viewers: viewers, refundedOrders: refunded, changes: changes[:0]}
}

// bytes approximates b's memory.
func (b *minute) bytes() int64 {
	return minuteSize + int64(cap(b.changes))*changeSize + b.buyers.bytes() + b.viewers.bytes() + b.refundedOrders.bytes()
}
