package metrics

// Late events.
//
// An event whose minute is final (minute end + AllowedLateness ≤ watermark) is late: it is
// stored with late=1 and counted only in late_events of its minute's row, which is emitted again.
// Emitting a row replaces it (ReplacingMergeTree keeps the highest version), so the new emission
// must carry the minute's other figures unchanged: a final minute keeps its last emitted figures
// (a finalRow, ~200 bytes, only for minutes that made a row) for LateRetention. A minute with no
// retained row within that horizon had no row, so a late event there makes a row of zeros with
// late_events = 1. Beyond the horizon the figures are gone; the event is counted only in
// ShardStats.LateDropped.

// finalRow is the last emission of a final minute.
type finalRow struct {
	minute int64
	f      figures
	dirty  bool // late_events changed since the last emission
}

// countLate counts a late event at minute m of st.
func (sh *Shard) countLate(st *stream, m int64) {
	if m >= sh.finalBefore { // final for the caller's watermark, not yet closed by Advance
		b := sh.minuteFor(st, m)
		b.active = true
		b.late++
		return
	}
	if m+minuteMS+sh.p.lateness+sh.p.lateRetention <= sh.wm {
		sh.lateDropped++
		return
	}
	i := len(st.finals)
	for i > 0 && st.finals[i-1].minute > m {
		i--
	}
	if i == 0 || st.finals[i-1].minute != m {
		st.finals = append(st.finals, finalRow{})
		copy(st.finals[i+1:], st.finals[i:])
		st.finals[i] = finalRow{minute: m}
		i++
	}
	fr := &st.finals[i-1]
	fr.f.LateEvents++
	fr.dirty = true
	st.finalsDirty = true
}

// emitFinals appends the rows of st's final minutes that late events changed, and forgets those
// older than the retention horizon at w.
func (sh *Shard) emitFinals(st *stream, w int64, out []MinuteRow) []MinuteRow {
	if st.finalsDirty {
		for i := range st.finals {
			if fr := &st.finals[i]; fr.dirty {
				out = append(out, fr.f.row(fr.minute, st.lab, sh.part))
				fr.dirty = false
			}
		}
		st.finalsDirty = false
	}
	n := 0
	for n < len(st.finals) && st.finals[n].minute+minuteMS+sh.p.lateness+sh.p.lateRetention <= w {
		n++
	}
	if n > 0 {
		st.finals = append(st.finals[:0], st.finals[n:]...)
	}
	return out
}
