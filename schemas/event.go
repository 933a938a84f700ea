// Package schemas is livepulse's event contract: the Go types of the viewer, order and refund
// events, their strict decoder, and the column layout of the ClickHouse tables that store them.
// The JSON Schema files next to this package document the same contract for producers; tests keep
// the three (JSON Schema, Go fields, table columns) in agreement.
package schemas

import (
	"strconv"
	"time"
)

// Kind says which of the three event streams a message belongs to.
type Kind uint8

const (
	KindViewer Kind = iota + 1
	KindOrder
	KindRefund
)

// Kinds lists every kind, in topic order.
var Kinds = []Kind{KindViewer, KindOrder, KindRefund}

func (k Kind) String() string {
	switch k {
	case KindViewer:
		return "viewer"
	case KindOrder:
		return "order"
	case KindRefund:
		return "refund"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// DefaultTopic is the Kafka topic a kind is read from unless configured otherwise.
func (k Kind) DefaultTopic() string { return "livepulse." + k.String() }

// Action is what a viewer event reports.
type Action uint8

const (
	ActionJoin Action = iota + 1
	ActionLeave
	ActionHeartbeat
	ActionEngage
	// ActionCount carries the concurrent-viewer number the platform displays, not a viewer.
	ActionCount
)

var actionNames = [...]string{"", "join", "leave", "heartbeat", "engage", "count"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// EngageKind qualifies an engage action; EngageNone when the event carries none.
type EngageKind uint8

const (
	EngageNone EngageKind = iota
	EngageLike
	EngageComment
	EngageShare
	EngageFollow
)

var engageNames = [...]string{"", "like", "comment", "share", "follow"}

func (k EngageKind) String() string {
	if int(k) < len(engageNames) {
		return engageNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Header holds the fields every event carries.
type Header struct {
	EventID  string // globally unique; the idempotency key (≤ 128 bytes)
	TS       int64  // event time, Unix milliseconds UTC
	StreamID string // one live broadcast; also the Kafka message key
	KOLID    string // the broadcast's host
	BrandID  string // optional
	Platform string // optional
}

// Time returns the event time.
func (h *Header) Time() time.Time { return time.UnixMilli(h.TS).UTC() }

// Viewer is one viewer action, or (ActionCount) one displayed viewer count.
type Viewer struct {
	Header
	Action          Action
	ViewerID        string // required except for ActionCount
	SessionID       string
	DeviceID        string
	IP              string
	Kind            EngageKind // ActionEngage only
	ReportedViewers uint64     // ActionCount only: the number shown on screen
}

// Order is one placed order.
type Order struct {
	Header
	OrderID  string
	BuyerID  string
	SKUID    string
	Quantity uint32 // ≥ 1
	Amount   Money  // order total
	Currency string // ISO 4217
}

// Refund is one refund of (part of) an order.
type Refund struct {
	Header
	RefundID string
	OrderID  string
	BuyerID  string
	Amount   Money
	Currency string
	Reason   string
}

// Event is a decoded message of any kind; Kind says which member is set. A plain struct rather
// than an interface so the hot path decodes into reused memory without allocating.
type Event struct {
	Kind   Kind
	Viewer Viewer
	Order  Order
	Refund Refund
}

// Header returns the common fields of whichever member is set.
func (e *Event) Header() *Header {
	switch e.Kind {
	case KindOrder:
		return &e.Order.Header
	case KindRefund:
		return &e.Refund.Header
	}
	return &e.Viewer.Header
}
