package bench

import (
	"encoding/json"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

// decodeResult compares the contract's decoder with encoding/json on the same messages.
type decodeResult struct {
	Messages         int     `json:"messages"`
	Bytes            int64   `json:"bytes"`
	StdlibPerSec     float64 `json:"stdlib_events_per_sec"`
	LivepulsePerSec  float64 `json:"livepulse_events_per_sec"`
	LivepulseInvalid int     `json:"livepulse_invalid"` // messages the contract rejected (none expected)
}

// minDecodeTime is how long each decoder runs at least (whole passes over the sample).
const minDecodeTime = 500 * time.Millisecond

// compareDecoders decodes the sample on one goroutine with encoding/json into plain structs
// (which neither parses times and money nor checks any rule: a flattering comparison for the
// standard library) and with schemas.Decoder (strict, exact money, every rule of the contract).
func compareDecoders(sample []sampleMsg) decodeResult {
	res := decodeResult{Messages: len(sample)}
	if len(sample) == 0 {
		return res
	}
	for _, m := range sample {
		res.Bytes += int64(len(m.value))
	}
	var sv stdViewer
	var so stdOrder
	var sr stdRefund
	res.StdlibPerSec = rate(len(sample), func() {
		for _, m := range sample {
			var v any
			switch m.kind {
			case schemas.KindViewer:
				v = &sv
			case schemas.KindOrder:
				v = &so
			default:
				v = &sr
			}
			_ = json.Unmarshal(m.value, v)
		}
	})
	d := schemas.NewDecoder(schemas.DecoderConfig{})
	now := time.Now()
	var ev schemas.Event
	res.LivepulsePerSec = rate(len(sample), func() {
		res.LivepulseInvalid = 0
		for _, m := range sample {
			if d.Decode(m.kind, m.value, now, &ev) != nil {
				res.LivepulseInvalid++
			}
		}
	})
	return res
}

// rate runs pass (which handles n messages) for at least minDecodeTime and returns messages/s.
func rate(n int, pass func()) float64 {
	began := time.Now()
	passes := 0
	for passes == 0 || time.Since(began) < minDecodeTime {
		pass()
		passes++
	}
	return float64(n*passes) / time.Since(began).Seconds()
}

// stdHeader, stdViewer, stdOrder and stdRefund are what a plain encoding/json consumer would
// decode into. ts and amount have two JSON shapes each, so they stay raw: the comparison flatters
// the standard library, which here neither parses times and money nor checks any rule.
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
