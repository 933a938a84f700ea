package schemas

import (
	"encoding/json"
	"testing"
)

// benchMessages are typical messages, the shapes producers send most.
var benchMessages = []struct {
	kind Kind
	msg  string
}{
	{KindViewer, `{"event_id":"v-2f6c1a9e-4d7b-4c1e-9a0b-000000000001","ts":"2025-06-01T19:59:58.123+08:00",` +
		`"stream_id":"st-20250601-8841","kol_id":"kol-5521","brand_id":"brand-77","platform":"douyin",` +
		`"action":"engage","viewer_id":"u-88412301","session_id":"sess-1b2c3d","device_id":"dev-a1b2c3d4",` +
		`"ip":"203.0.113.42","kind":"like"}`},
	{KindOrder, `{"event_id":"o-2f6c1a9e-4d7b-4c1e-9a0b-000000000002","ts":1748779198123,` +
		`"stream_id":"st-20250601-8841","kol_id":"kol-5521","brand_id":"brand-77","platform":"douyin",` +
		`"order_id":"ord-9912003344","buyer_id":"u-88412301","sku_id":"sku-lipstick-07","quantity":2,` +
		`"amount":"259.80","currency":"CNY"}`},
	{KindRefund, `{"event_id":"r-2f6c1a9e-4d7b-4c1e-9a0b-000000000003","ts":"2025-06-01T11:59:58Z",` +
		`"stream_id":"st-20250601-8841","kol_id":"kol-5521","brand_id":"brand-77","platform":"douyin",` +
		`"refund_id":"rf-55120001","order_id":"ord-9912003344","buyer_id":"u-88412301","amount":129.9,` +
		`"currency":"CNY","reason":"changed my mind"}`},
}

func BenchmarkDecode(b *testing.B) {
	for _, m := range benchMessages {
		b.Run(m.kind.String(), func(b *testing.B) {
			d := NewDecoder(DecoderConfig{})
			raw := []byte(m.msg)
			var ev Event
			if err := d.Decode(m.kind, raw, testNow, &ev); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if err := d.Decode(m.kind, raw, testNow, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// stdHeader, stdViewer, stdOrder and stdRefund are what a plain encoding/json consumer would decode
// into. ts and amount have two JSON shapes each, so they stay raw: the comparison flatters the
// standard library, which here neither parses times and money nor checks any rule.
type stdHeader struct {
	EventID  string          `json:"event_id"`
	TS       json.RawMessage `json:"ts"`
	StreamID string          `json:"stream_id"`
	KOLID    string          `json:"kol_id"`
	BrandID  string          `json:"brand_id"`
	Platform string          `json:"platform"`
}

type stdViewer struct {
	stdHeader
	Action          string  `json:"action"`
	ViewerID        string  `json:"viewer_id"`
	SessionID       string  `json:"session_id"`
	DeviceID        string  `json:"device_id"`
	IP              string  `json:"ip"`
	Kind            string  `json:"kind"`
	ReportedViewers *uint64 `json:"reported_viewers"`
}

type stdOrder struct {
	stdHeader
	OrderID  string          `json:"order_id"`
	BuyerID  string          `json:"buyer_id"`
	SKUID    string          `json:"sku_id"`
	Quantity *uint32         `json:"quantity"`
	Amount   json.RawMessage `json:"amount"`
	Currency string          `json:"currency"`
}

type stdRefund struct {
	stdHeader
	RefundID string          `json:"refund_id"`
	OrderID  string          `json:"order_id"`
	BuyerID  string          `json:"buyer_id"`
	Amount   json.RawMessage `json:"amount"`
	Currency string          `json:"currency"`
	Reason   string          `json:"reason"`
}

func BenchmarkDecodeStdlib(b *testing.B) {
	for _, m := range benchMessages {
		b.Run(m.kind.String(), func(b *testing.B) {
			raw := []byte(m.msg)
			var v any
			switch m.kind {
			case KindViewer:
				v = new(stdViewer)
			case KindOrder:
				v = new(stdOrder)
			case KindRefund:
				v = new(stdRefund)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if err := json.Unmarshal(raw, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
