package simulate

import "github.com/livepulse/livepulse/schemas"

// refund is a refund waiting for its time. It is scheduled only when its order was delivered
// intact and it falls within the run, so every refund references an order sent before it.
type refund struct {
	s       *stream
	at      int64
	orderID string
	buyerID string
	amount  schemas.Money
	reason  string
}

// step implements actor.
func (r *refund) step(g *Generator, at int64) bool {
	b := append(append(g.scratch[:0], "r-"...), g.tag...)
	g.refundSeq++
	g.ev.Kind = schemas.KindRefund
	g.ev.Refund = schemas.Refund{
		Header:   r.s.header(at),
		RefundID: string(appendPadded(append(b, '-'), g.refundSeq, 1)),
		OrderID:  r.orderID,
		BuyerID:  r.buyerID,
		Amount:   r.amount,
		Currency: g.cfg.Currency,
		Reason:   r.reason,
	}
	g.evStream = r.s
	return true
}

// lateDelivery is a viewer event held back by the network: delivered after events with later
// event times.
type lateDelivery struct {
	v schemas.Viewer
	s *stream
}

// step implements actor.
func (l *lateDelivery) step(g *Generator, _ int64) bool {
	g.ev.Kind, g.ev.Viewer, g.evStream = schemas.KindViewer, l.v, l.s
	return true
}
