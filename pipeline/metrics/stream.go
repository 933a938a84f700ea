package metrics

import (
	"slices"

	"github.com/livepulse/livepulse/schemas"
	"github.com/livepulse/livepulse/schemas/idhash"
)

// streamLabels are a stream's descriptive columns. They are shared by pointer between the stream
// and the orders and pending refunds that refer to it, so attributing a refund never copies them
// and a forgotten stream can be recreated with the same labels.
type streamLabels struct {
	id, kol, brand, platform string
	own                      bool // taken from the stream's own events (else from an OrderRef)
}

func (l *streamLabels) setFrom(h *schemas.Header) {
	l.kol, l.brand, l.platform, l.own = h.KOLID, h.BrandID, h.Platform, true
}

// stream is the state of one stream in a shard.
type stream struct {
	lab    *streamLabels
	lastTS int64 // newest event time counted for it, for idle eviction

	// minutes not final yet, ascending by start; not necessarily contiguous (a minute with no
	// event, refund or session change has none).
	minutes []*minute
	// carry is the open-session count at the end of the last minute made final: the concurrent
	// count the first open minute starts from.
	carry    int64
	sessions idhash.Table[session]

	finals      []finalRow // final rows kept for late events, ascending by minute
	finalsDirty bool       // some final row got a late event since its last emission
}

// minute returns the open minute starting at m, or nil.
func (st *stream) minute(m int64) *minute {
	// Most lookups are for the newest minutes: search from the end.
	for i := len(st.minutes) - 1; i >= 0; i-- {
		b := st.minutes[i]
		if b.start == m {
			return b
		}
		if b.start < m {
			return nil
		}
	}
	return nil
}

// insert adds b (absent) in start order.
func (st *stream) insert(b *minute) {
	i := len(st.minutes)
	for i > 0 && st.minutes[i-1].start > b.start {
		i--
	}
	st.minutes = slices.Insert(st.minutes, i, b)
}
