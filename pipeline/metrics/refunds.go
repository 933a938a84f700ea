package metrics

import (
	"context"
	"slices"
	"strings"

	"github.com/livepulse/livepulse/schemas"
	"github.com/livepulse/livepulse/schemas/idhash"
)

// Refund attribution.
//
// A refund counts for its ORDER's stream, in the minute of the refund's own time. The order is
// found in memory (any order this shard counted in the last OrderRetention) or, failing that,
// through OrderLookup, which Advance calls once per call for all refunds still waiting. A refund
// waits (pending) until its order shows up — added to this shard, or found by a lookup — or until
// its minute becomes final; then it is unmatched, counted in unmatched_refunds of its OWN stream.
// Waiting until finality rather than giving up on the first failed lookup keeps the result
// independent of the Advance cadence when an order arrives after its refund (different topics).
// Each waiting refund is looked up at most twice (when first seen by Advance, and when its minute
// becomes final) plus retries after lookup errors, so a burst of refunds for unknown orders does
// not turn into a lookup per Advance.
//
// Late orders are not kept: the rows they would attribute to are what SQL computes over orders
// that were not late, and OrderLookup finds only those too.

// orderMem is an order kept for attribution.
type orderMem struct {
	lab *streamLabels
	ts  int64
}

// queuedOrder orders the memory for expiry. Orders arrive in about event-time order, so a FIFO
// expires them without a heap; an out-of-order one just lives a little longer.
type queuedOrder struct {
	id string
	ts int64
}

// pendingRefund is a refund whose order is not known yet.
type pendingRefund struct {
	ts     int64
	amount schemas.Money
	own    *streamLabels // the refund's own stream, for the unmatched count
	asked  bool          // a lookup answered without it
}

// OrderRef is what attribution needs to know of an order the shard does not hold.
type OrderRef struct {
	StreamID, KOLID, BrandID, Platform string
	Amount                             schemas.Money
	TS                                 int64 // Unix ms
}

// OrderLookup finds orders that are not in memory (the store looks them up in ClickHouse). It is
// called only from Advance and Flush, once per call, with all the order ids then needed, sorted.
// Orders it does not find are simply absent from the map.
type OrderLookup func(ctx context.Context, orderIDs []string) (map[string]OrderRef, error)

// rememberOrder keeps an order for attribution and resolves the refunds waiting for it.
func (sh *Shard) rememberOrder(id string, lab *streamLabels, ts int64) {
	// A copy: the decoder allocates an event's ids together, and the order retention (24 h by
	// default) should not keep the event id and buyer id alive with it.
	id = strings.Clone(id)
	sh.orders[id] = orderMem{lab: lab, ts: ts}
	sh.orderQ = append(sh.orderQ, queuedOrder{id: id, ts: ts})
	if list, ok := sh.pending[id]; ok {
		for _, r := range list {
			sh.attribute(lab, r.ts, r.amount, id)
		}
		sh.pendingN -= len(list)
		delete(sh.pending, id)
	}
}

// addRefund counts a refund, now if its order is known, else when Advance finds it.
func (sh *Shard) addRefund(st *stream, r *schemas.Refund) {
	if o, ok := sh.orders[r.OrderID]; ok {
		sh.attribute(o.lab, r.TS, r.Amount, r.OrderID)
		return
	}
	sh.pending[r.OrderID] = append(sh.pending[r.OrderID], pendingRefund{ts: r.TS, amount: r.Amount, own: st.lab})
	sh.pendingN++
}

// attribute counts a refund at ts for the stream labelled lab.
func (sh *Shard) attribute(lab *streamLabels, ts int64, amount schemas.Money, orderID string) {
	st := sh.streamOf(lab)
	st.lastTS = max(st.lastTS, ts)
	b := sh.minuteFor(st, minuteOf(ts))
	b.active = true
	b.refunds++
	b.refundAmount += amount
	b.refundedOrders.add(idhash.String(idhash.ID, orderID), sh.p.exact)
}

// resolvePending looks up the orders of waiting refunds and gives up, counting them unmatched, on
// those whose minute becomes final at finalBefore.
func (sh *Shard) resolvePending(ctx context.Context, finalBefore int64) {
	if sh.pendingN == 0 {
		return
	}
	var ids []string
	for id, list := range sh.pending {
		for _, r := range list {
			if !r.asked || minuteOf(r.ts) < finalBefore {
				ids = append(ids, id)
				break
			}
		}
	}
	if len(ids) > 0 && sh.lookup != nil {
		slices.Sort(ids) // deterministic calls
		refs, err := sh.lookup(ctx, ids)
		if err != nil {
			sh.lookupErrors++ // keep waiting: asked stays false, so they are retried
		} else {
			for _, id := range ids {
				ref, ok := refs[id]
				if !ok {
					for i := range sh.pending[id] {
						sh.pending[id][i].asked = true
					}
					continue
				}
				sh.rememberOrder(id, sh.labelsOf(ref), ref.TS)
			}
		}
	}
	for id, list := range sh.pending {
		keep := list[:0]
		for _, r := range list {
			if minuteOf(r.ts) >= finalBefore {
				keep = append(keep, r)
				continue
			}
			st := sh.streamOf(r.own)
			b := sh.minuteFor(st, minuteOf(r.ts))
			b.active = true
			b.unmatched++
			b.unmatchedAmount += r.amount
			sh.pendingN--
		}
		if len(keep) == 0 {
			delete(sh.pending, id)
		} else {
			sh.pending[id] = keep
		}
	}
}

// labelsOf returns the labels of ref's stream: the stream's own when the shard has it.
func (sh *Shard) labelsOf(ref OrderRef) *streamLabels {
	if st, ok := sh.streams[ref.StreamID]; ok {
		return st.lab
	}
	return &streamLabels{id: ref.StreamID, kol: ref.KOLID, brand: ref.BrandID, platform: ref.Platform}
}

// expireOrders forgets orders placed OrderRetention before w.
func (sh *Shard) expireOrders(w int64) {
	q := sh.orderQ
	i := 0
	for ; i < len(q) && q[i].ts <= subSat(w, sh.p.orderRetention); i++ {
		if o, ok := sh.orders[q[i].id]; ok && o.ts == q[i].ts {
			delete(sh.orders, q[i].id)
		}
	}
	if i == 0 {
		return
	}
	clear(q[:i]) // release the ids
	if i == len(q) {
		sh.orderQ = q[:0]
	} else if i > len(q)/2 {
		sh.orderQ = append(q[:0], q[i:]...)
	} else {
		sh.orderQ = q[i:]
	}
}
