package schemas

import (
	"strconv"
	"time"
)

// AppendJSON appends the event as a contract message (producers and the simulator use it).
// Optional fields that are empty are left out.
func (e *Event) AppendJSON(b []byte) []byte {
	switch e.Kind {
	case KindOrder:
		return e.Order.AppendJSON(b)
	case KindRefund:
		return e.Refund.AppendJSON(b)
	}
	return e.Viewer.AppendJSON(b)
}

func (h *Header) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendField(b, "event_id", h.EventID, true)
	b = append(b, `,"ts":"`...)
	b = time.UnixMilli(h.TS).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, '"')
	b = appendField(b, "stream_id", h.StreamID, false)
	b = appendField(b, "kol_id", h.KOLID, false)
	b = appendField(b, "brand_id", h.BrandID, false)
	return appendField(b, "platform", h.Platform, false)
}

// AppendJSON appends the viewer event as a contract message.
func (e *Viewer) AppendJSON(b []byte) []byte {
	b = e.Header.appendJSON(b)
	b = appendField(b, "action", e.Action.String(), false)
	b = appendField(b, "viewer_id", e.ViewerID, false)
	b = appendField(b, "session_id", e.SessionID, false)
	b = appendField(b, "device_id", e.DeviceID, false)
	b = appendField(b, "ip", e.IP, false)
	if e.Kind != EngageNone {
		b = appendField(b, "kind", e.Kind.String(), false)
	}
	if e.Action == ActionCount {
		b = append(b, `,"reported_viewers":`...)
		b = strconv.AppendUint(b, e.ReportedViewers, 10)
	}
	return append(b, '}')
}

// AppendJSON appends the order as a contract message; the amount is a decimal string.
func (e *Order) AppendJSON(b []byte) []byte {
	b = e.Header.appendJSON(b)
	b = appendField(b, "order_id", e.OrderID, false)
	b = appendField(b, "buyer_id", e.BuyerID, false)
	b = appendField(b, "sku_id", e.SKUID, false)
	b = append(b, `,"quantity":`...)
	b = strconv.AppendUint(b, uint64(e.Quantity), 10)
	b = append(b, `,"amount":"`...)
	b = append(e.Amount.AppendText(b), '"')
	b = appendField(b, "currency", e.Currency, false)
	return append(b, '}')
}

// AppendJSON appends the refund as a contract message; the amount is a decimal string.
func (e *Refund) AppendJSON(b []byte) []byte {
	b = e.Header.appendJSON(b)
	b = appendField(b, "refund_id", e.RefundID, false)
	b = appendField(b, "order_id", e.OrderID, false)
	b = appendField(b, "buyer_id", e.BuyerID, false)
	b = append(b, `,"amount":"`...)
	b = append(e.Amount.AppendText(b), '"')
	b = appendField(b, "currency", e.Currency, false)
	b = appendField(b, "reason", e.Reason, false)
	return append(b, '}')
}

func appendField(b []byte, name, value string, first bool) []byte {
	if value == "" && !first {
		return b
	}
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, `":`...)
	return appendJSONString(b, value)
}

// appendJSONString quotes s for JSON (strconv.Quote's Go escapes like \x01 are not JSON).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
