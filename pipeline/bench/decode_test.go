package bench

import (
	"encoding/json"
	"testing"
)

// BenchmarkDecodeStdlib is encoding/json on the shapes producers send most, the baseline of
// schemas' BenchmarkDecode (the decoder livepulse uses).
func BenchmarkDecodeStdlib(b *testing.B) {
	for _, m := range []struct {
		name string
		v    any
		msg  string
	}{
		{"viewer", new(stdViewer), `{"event_id":"v-2f6c1a9e-4d7b-4c1e-9a0b-000000000001","ts":"2025-06-01T19:59:58.123+08:00",` +
			`"stream_id":"st-20250601-8841","kol_id":"kol-5521","brand_id":"brand-77","platform":"douyin",` +
			`"action":"engage","viewer_id":"u-88412301","session_id":"sess-1b2c3d","device_id":"dev-a1b2c3d4",` +
			`"ip":"203.0.113.42","kind":"like"}`},
		{"order", new(stdOrder), `{"event_id":"o-2f6c1a9e-4d7b-4c1e-9a0b-000000000002","ts":1748779198123,` +
			`"stream_id":"st-20250601-8841","kol_id":"kol-5521","brand_id":"brand-77","platform":"douyin",` +
			`"order_id":"ord-9912003344","buyer_id":"u-88412301","sku_id":"sku-lipstick-07","quantity":2,` +
			`"amount":"259.80","currency":"CNY"}`},
	} {
		b.Run(m.name, func(b *testing.B) {
			raw := []byte(m.msg)
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if err := json.Unmarshal(raw, m.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
