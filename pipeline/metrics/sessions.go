package metrics

import (
	"math"
	"math/bits"

	"github.com/livepulse/livepulse/schemas"
	"github.com/livepulse/livepulse/schemas/idhash"
)

// Sessions.
//
// A session is keyed by session_id, or viewer_id when the event has none. A join opens it (a join
// of an open session just refreshes it); a heartbeat or engage of a session not open at its time
// opens it implicitly at that time; a leave closes it; without join/heartbeat/engage for
// SessionTimeout it times out. A session is open over [join, close), close being the leave time
// or last_seen + SessionTimeout: that interval drives concurrent_viewers (open at the minute's
// last instant) and peak_concurrent_viewers (most open at any instant of the minute). Its end is
// counted in sessions_ended/watch_ms_ended of the minute of the leave, or, for a timeout, of the
// minute of last_seen (the last sign of life, so the end lands in a minute that has an event),
// with watch time close − join, respectively last_seen − join.
//
// Timeouts are never "fired" by a clock. Every open session carries a provisional end: its
// timeout at last_seen + SessionTimeout, already counted where it would fall. An event that keeps
// the session alive moves that end (and its close) later; a leave moves it to the leave. So the
// counts are a function of the events applied, whatever the Advance cadence — which is what makes
// replays equal — and Advance only decides which provisional ends to show (those the watermark
// has confirmed; all of them once the minute is final) and forgets sessions whose close minute is
// final.
//
// Events are applied in arrival order, and a session's state is one interval. An event older
// than its session's join extends the session back to it. Out-of-order events around a gap
// longer than the timeout can therefore give another split than event-time order would (two
// overlapping sessions instead of one): rare, bounded by the watermark's out-of-orderness, and
// deterministic for a given event sequence. One case depends on the Advance cadence: an event
// arriving after the minute of its session's last_seen became final cannot move that session's
// end any more (the end stays counted there); the session is then closed at the event and, for a
// join/heartbeat/engage, a new one opens. That needs an event more out of order than the
// allowed lateness minus the timeout, past the watermark's bound.

// session is one open (or provisionally ended) session. Its open change is in the minute of
// open, at openIdx; its close change in the minute of close, at closeIdx.
type session struct {
	open, last, close int64
	openIdx, closeIdx int32
	left              bool // closed by a leave at close
	frozen            bool // its end is counted in a minute that is final: it can no longer move
}

func sessionKey(v *schemas.Viewer) (uint64, bool) {
	switch {
	case v.SessionID != "":
		return idhash.String(idhash.Session, v.SessionID), true
	case v.ViewerID != "":
		return idhash.String(idhash.Viewer, v.ViewerID), true
	}
	return 0, false
}

// applySession applies a join, leave, heartbeat or engage at ts to the session key of st.
func (sh *Shard) applySession(st *stream, key uint64, act schemas.Action, ts int64) {
	leave := act == schemas.ActionLeave
	s := st.sessions.Get(key)
	switch {
	case s == nil || ts >= s.close: // no session open at ts
		if leave {
			return // a leave of a session we never saw open: counted in leaves only
		}
		if s == nil {
			s = st.sessions.Insert(key)
		}
		*s = sh.openSession(st, ts)
	case ts < s.open: // older than the session's start: it started earlier
		if leave {
			return // belongs to an earlier session we never saw
		}
		sh.unaccount(st, s) // its minute(last) is after ts's, so not final
		sh.moveOpen(st, s, ts)
		sh.account(st, s)
	case leave: // open at ts (a second leave may still move the close earlier)
		if s.frozen {
			sh.moveClose(st, s, ts, changeCloseFrozen)
			break
		}
		if !sh.unaccount(st, s) {
			sh.moveClose(st, s, ts, changeCloseFrozen)
			break
		}
		s.left = true
		sh.moveClose(st, s, ts, changeCloseLeave)
		sh.account(st, s)
	case s.left || ts <= s.last: // inside what is known: nothing moves
	default: // keeps the session alive
		if s.frozen || !sh.unaccount(st, s) {
			// Its end is final in last_seen's minute: close it here, start anew.
			sh.moveClose(st, s, ts, changeCloseFrozen)
			*s = sh.openSession(st, ts)
			break
		}
		s.last = ts
		sh.moveClose(st, s, ts+sh.p.timeout, changeCloseTimeout)
		sh.account(st, s)
	}
}

// openSession starts a session at ts: joined and last seen at ts, provisionally timing out at
// ts + timeout, that end counted in ts's minute.
func (sh *Shard) openSession(st *stream, ts int64) session {
	s := session{open: ts, last: ts, close: ts + sh.p.timeout}
	s.openIdx = sh.minuteFor(st, minuteOf(ts)).addChange(change{t: ts, d: +1, kind: changeOpen})
	s.closeIdx = sh.minuteFor(st, minuteOf(s.close)).addChange(change{t: s.close, d: -1, kind: changeCloseTimeout})
	sh.account(st, &s)
	return s
}

// endMinute returns the minute where s's end is counted.
func (s *session) endMinute() int64 {
	if s.left {
		return minuteOf(s.close)
	}
	return minuteOf(s.last)
}

// watch returns the watch time counted at s's end.
func (s *session) watch() int64 {
	if s.left {
		return s.close - s.open
	}
	return s.last - s.open
}

// account counts s's end where it currently falls and records its dwell on its close change.
func (sh *Shard) account(st *stream, s *session) {
	b := sh.minuteFor(st, s.endMinute())
	if b == nil {
		return
	}
	w := s.watch()
	if s.left {
		b.leftEnded++
		b.leftWatch += w
	} else {
		b.timeoutEnded++
		b.timeoutWatch += w
		if c := st.minute(minuteOf(s.close)); c != nil {
			c.changes[s.closeIdx].dwell = uint32(min(max(w, 0), math.MaxUint32))
		}
	}
}

// unaccount removes s's end from where it is counted. It returns false, changing nothing, when
// that minute is final (gone): the end can no longer move, and s is frozen.
func (sh *Shard) unaccount(st *stream, s *session) bool {
	b := st.minute(s.endMinute())
	if b == nil {
		s.frozen = true
		return false
	}
	w := s.watch()
	if s.left {
		b.leftEnded--
		b.leftWatch -= w
	} else {
		b.timeoutEnded--
		b.timeoutWatch -= w
	}
	return true
}

// moveClose moves s's close change to t with the given kind.
func (sh *Shard) moveClose(st *stream, s *session, t int64, kind uint8) {
	s.closeIdx = sh.moveChange(st, s.close, s.closeIdx, change{t: t, d: -1, kind: kind})
	s.close = t
}

// moveOpen moves s's open change to t.
func (sh *Shard) moveOpen(st *stream, s *session, t int64) {
	s.openIdx = sh.moveChange(st, s.open, s.openIdx, change{t: t, d: +1, kind: changeOpen})
	s.open = t
}

// moveChange replaces the change at index idx of the minute of from by c, in place when c stays
// in that minute, else as a tombstone there and a new change in c's minute. It returns c's index.
func (sh *Shard) moveChange(st *stream, from int64, idx int32, c change) int32 {
	old := st.minute(minuteOf(from))
	if old != nil && old.start == minuteOf(c.t) {
		old.changes[idx] = c
		old.dirty = true
		return idx
	}
	if old != nil {
		old.changes[idx] = change{t: old.changes[idx].t, kind: changeTombstone}
		old.dirty = true
	}
	return sh.minuteFor(st, minuteOf(c.t)).addChange(c)
}

// ended returns the session ends minute b reports when emitted at watermark w: the leaves, and
// the timeouts confirmed by w (close ≤ w: no event up to w kept them alive); all provisional ends
// once b is final, so a final row depends on the events only.
func (sh *Shard) ended(st *stream, b *minute, w int64, final bool) (n, watch int64) {
	n, watch = b.leftEnded+b.timeoutEnded, b.leftWatch+b.timeoutWatch
	if final || b.timeoutEnded == 0 || w >= b.start+minuteMS-1+sh.p.timeout {
		return n, watch
	}
	// Some timeouts counted here may not be confirmed: count those that are from the close
	// changes, which sit in the minutes from b.start+timeout on.
	n, watch = b.leftEnded, b.leftWatch
	lo, hi := b.start+sh.p.timeout, min(w, b.start+minuteMS-1+sh.p.timeout)
	span := uint64(hi - lo)
	for _, c := range st.minutes {
		if c.start+minuteMS <= lo {
			continue
		}
		if c.start > hi {
			break
		}
		// Without branches (the kinds come in no order a predictor learns): x exceeds span
		// unless the change is a live timeout close in [lo, hi] (tombstones have their own kind).
		for i := range c.changes {
			e := &c.changes[i]
			x := uint64(e.t-lo) | uint64(e.kind^changeCloseTimeout)<<56
			_, miss := bits.Sub64(span, x, 0)
			hit := int64(1 - miss)
			n += hit
			watch += hit * int64(e.dwell)
		}
	}
	return n, watch
}

// dropSessions forgets the sessions whose close minute is final (before finalBefore): no event
// that is not late can reach them any more.
func (st *stream) dropSessions(finalBefore int64) {
	st.sessions.Sweep(func(_ uint64, s *session) bool { return minuteOf(s.close) >= finalBefore })
}
