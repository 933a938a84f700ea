package schemas

import "testing"

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
