package simulate

import "container/heap"

// actor is anything that acts over event time: a live stream (viewer arrivals, its end and its
// successor), a stream's displayed-count ticker, a viewer session, a pending refund, a late
// delivery. The Generator keeps one queue of scheduled actor steps and runs them in event-time
// order. The scenarios add theirs (a bot farm and its scripted sessions, a brushing ring, a
// celebrity guest, a flash sale; see scenario.go), reusing the helpers of the honest ones.
type actor interface {
	// step runs the actor's step due at event time at (Unix ms). It may schedule further steps
	// with g.schedule. It returns true when it filled g.ev (and g.evStream) with an event to
	// deliver; the Generator assigns the event_id and encodes it.
	step(g *Generator, at int64) bool
}

// scheduled is one pending step. seq breaks ties between equal times in scheduling order, so the
// sequence is deterministic.
type scheduled struct {
	at  int64
	seq uint64
	a   actor
}

// queue is a min-heap of scheduled steps by (at, seq). The Generator drives it with heap.Fix
// only: heap.Push and heap.Pop box every element into an interface, an allocation per event.
type queue []scheduled

var _ heap.Interface = (*queue)(nil)

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(scheduled)) }
func (q *queue) Pop() any {
	old := *q
	x := old[len(old)-1]
	old[len(old)-1] = scheduled{}
	*q = old[:len(old)-1]
	return x
}

// push adds s without boxing it.
func (q *queue) push(s scheduled) {
	*q = append(*q, s)
	heap.Fix(q, len(*q)-1)
}

// replaceTop replaces the earliest step by s: one sift instead of a pop and a push, the common
// case of an actor rescheduling itself.
func (q *queue) replaceTop(s scheduled) {
	(*q)[0] = s
	heap.Fix(q, 0)
}

// dropTop removes the earliest step without boxing it.
func (q *queue) dropTop() {
	old := *q
	n := len(old) - 1
	old[0] = old[n]
	old[n] = scheduled{}
	*q = old[:n]
	if n > 0 {
		heap.Fix(q, 0)
	}
}
