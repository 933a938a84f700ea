package schemas

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// awkward holds strings that need escaping, or look as if they might.
var awkward = []string{
	"plain",
	`say "hi"`,
	`C:\path\to\file`,
	`\"`,
	`\u0041 is not an escape here`,
	"\x00\x01\x07\x08\x0c\x1b\x1f",
	"tab\tnew line\ncarriage return\r",
	"\x7f DEL is not a control character for JSON",
	"\u2028\u2029 line separators",
	"</script><!-- & ' >",
	"观众 😀 é e\u0301 \ufffd",
	"/",
	" ",
	strings.Repeat("长", 42), // 126 bytes: fits event_id
}

// truncUTF8 cuts s to at most n bytes, at a character boundary.
func truncUTF8(s string, n int) string {
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

func roundTripEvents() []Event {
	ts := testNow.Add(-90 * time.Second).UnixMilli()
	h := func(s string) Header {
		return Header{EventID: truncUTF8("e-"+s, MaxIDBytes), TS: ts, StreamID: "st-" + s, KOLID: "kol-" + s, BrandID: s, Platform: s}
	}
	var out []Event
	for _, s := range awkward {
		out = append(out,
			Event{Kind: KindViewer, Viewer: Viewer{Header: h(s), Action: ActionEngage, ViewerID: s, SessionID: s, DeviceID: s, IP: truncUTF8("ip "+s, 64), Kind: EngageComment}},
			Event{Kind: KindOrder, Order: Order{Header: h(s), OrderID: s, BuyerID: s, SKUID: s, Quantity: 3, Amount: 1234, Currency: "CNY"}},
			Event{Kind: KindRefund, Refund: Refund{Header: h(s), RefundID: s, OrderID: s, BuyerID: s, Amount: 5, Currency: "USD", Reason: s}},
		)
	}
	ts0 := Header{EventID: "e", TS: ts, StreamID: "s", KOLID: "k"}
	return append(out,
		Event{Kind: KindViewer, Viewer: Viewer{Header: ts0, Action: ActionJoin, ViewerID: "v"}},
		Event{Kind: KindViewer, Viewer: Viewer{Header: ts0, Action: ActionLeave, ViewerID: "v"}},
		Event{Kind: KindViewer, Viewer: Viewer{Header: ts0, Action: ActionHeartbeat, ViewerID: "v", SessionID: "x"}},
		Event{Kind: KindViewer, Viewer: Viewer{Header: ts0, Action: ActionCount}},
		Event{Kind: KindViewer, Viewer: Viewer{Header: ts0, Action: ActionCount, ReportedViewers: 1 << 53}},
		Event{Kind: KindOrder, Order: Order{Header: ts0, OrderID: "o", BuyerID: "b", Quantity: 1, Amount: 0, Currency: "CNY"}},
		Event{Kind: KindOrder, Order: Order{Header: ts0, OrderID: "o", BuyerID: "b", Quantity: 1_000_000, Amount: MaxMoney, Currency: "EUR"}},
		Event{Kind: KindRefund, Refund: Refund{Header: ts0, RefundID: "r", OrderID: "o", Amount: 1, Currency: "CNY"}},
	)
}

// AppendJSON, then Decode, gives the event back; the output is valid JSON that encoding/json
// reads to the same values.
func TestAppendJSONRoundTrip(t *testing.T) {
	d := NewDecoder(DecoderConfig{})
	for _, ev := range roundTripEvents() {
		out := ev.AppendJSON(nil)
		if !json.Valid(out) {
			t.Errorf("AppendJSON(%+v) is not valid JSON: %s", ev, out)
			continue
		}
		if !utf8.Valid(out) {
			t.Errorf("AppendJSON(%+v) is not UTF-8: %q", ev, out)
		}
		var got Event
		if err := d.Decode(ev.Kind, out, testNow, &got); err != nil {
			t.Errorf("Decode(AppendJSON(%+v)): %v\n  %s", ev, err, out)
			continue
		}
		if got != ev {
			t.Errorf("round trip:\n  got  %+v\n  want %+v\n  via  %s", got, ev, out)
		}
		checkAgainstStdlib(t, &ev, out)
	}
}

// checkAgainstStdlib reads out with encoding/json and compares every field with ev: an
// independent check of the escaping, and that empty optional fields are left out.
func checkAgainstStdlib(t *testing.T, ev *Event, out []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("encoding/json: %v\n  %s", err, out)
	}
	h := ev.Header()
	want := map[string]any{"event_id": h.EventID, "stream_id": h.StreamID, "kol_id": h.KOLID,
		"brand_id": h.BrandID, "platform": h.Platform}
	switch ev.Kind {
	case KindViewer:
		e := ev.Viewer
		want["action"], want["viewer_id"], want["session_id"], want["device_id"], want["ip"] = e.Action.String(), e.ViewerID, e.SessionID, e.DeviceID, e.IP
		want["kind"] = e.Kind.String()
		if e.Action == ActionCount {
			want["reported_viewers"] = float64(e.ReportedViewers)
		}
	case KindOrder:
		e := ev.Order
		want["order_id"], want["buyer_id"], want["sku_id"], want["currency"] = e.OrderID, e.BuyerID, e.SKUID, e.Currency
		want["quantity"], want["amount"] = float64(e.Quantity), e.Amount.String()
	case KindRefund:
		e := ev.Refund
		want["refund_id"], want["order_id"], want["buyer_id"], want["currency"], want["reason"] = e.RefundID, e.OrderID, e.BuyerID, e.Currency, e.Reason
		want["amount"] = e.Amount.String()
	}
	for k, v := range want {
		if v == "" && k != "event_id" {
			if _, ok := m[k]; ok {
				t.Errorf("%s: empty %s is written: %s", ev.Kind, k, out)
			}
			continue
		}
		if m[k] != v {
			t.Errorf("%s: %s = %#v, want %#v\n  %s", ev.Kind, k, m[k], v, out)
		}
	}
	ts, _ := m["ts"].(string)
	parsed, err := time.Parse(time.RFC3339, ts)
	if err != nil || parsed.UnixMilli() != h.TS || !strings.HasSuffix(ts, "Z") || len(ts) != len("2006-01-02T15:04:05.000Z") {
		t.Errorf("ts %q (%v), want %d ms as 2006-01-02T15:04:05.000Z", ts, err, h.TS)
	}
	if n := countKeys(out); n != len(m) {
		t.Errorf("%d keys for %d distinct names (duplicates) in %s", n, len(m), out)
	}
}

// countKeys counts the top-level keys of a JSON object, duplicates included.
func countKeys(b []byte) int {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if _, err := dec.Token(); err != nil { // {
		return -1
	}
	n := 0
	for dec.More() {
		var v json.RawMessage
		if _, err := dec.Token(); err != nil { // the key
			return -1
		}
		if err := dec.Decode(&v); err != nil {
			return -1
		}
		n++
	}
	return n
}

// The exact bytes, for one event of each kind.
func TestAppendJSONGolden(t *testing.T) {
	ts := time.Date(2025, 6, 1, 11, 59, 58, 123e6, time.UTC).UnixMilli()
	h := Header{EventID: "e-1", TS: ts, StreamID: "st-1", KOLID: "kol-1"}
	for _, c := range []struct {
		ev   Event
		want string
	}{
		{Event{Kind: KindViewer, Viewer: Viewer{Header: h, Action: ActionJoin, ViewerID: "u-1"}},
			`{"event_id":"e-1","ts":"2025-06-01T11:59:58.123Z","stream_id":"st-1","kol_id":"kol-1","action":"join","viewer_id":"u-1"}`},
		{Event{Kind: KindViewer, Viewer: Viewer{Header: h, Action: ActionCount}},
			`{"event_id":"e-1","ts":"2025-06-01T11:59:58.123Z","stream_id":"st-1","kol_id":"kol-1","action":"count","reported_viewers":0}`},
		{Event{Kind: KindOrder, Order: Order{Header: h, OrderID: "o-1", BuyerID: "b-1", Quantity: 2, Amount: 25980, Currency: "CNY"}},
			`{"event_id":"e-1","ts":"2025-06-01T11:59:58.123Z","stream_id":"st-1","kol_id":"kol-1","order_id":"o-1","buyer_id":"b-1","quantity":2,"amount":"259.80","currency":"CNY"}`},
		{Event{Kind: KindRefund, Refund: Refund{Header: h, RefundID: "rf-1", OrderID: "o-1", Amount: 5, Reason: "a\"b\\c\x01"}},
			`{"event_id":"e-1","ts":"2025-06-01T11:59:58.123Z","stream_id":"st-1","kol_id":"kol-1","refund_id":"rf-1","order_id":"o-1","amount":"0.05","reason":"a\"b\\c\u0001"}`},
	} {
		if got := string(c.ev.AppendJSON([]byte("prefix:"))); got != "prefix:"+c.want {
			t.Errorf("AppendJSON:\n  got  %s\n  want prefix:%s", got, c.want)
		}
	}
}

// The event-time range the decoder accepts is exactly what AppendJSON can write as RFC 3339.
func TestAppendJSONTimeRange(t *testing.T) {
	d := NewDecoder(DecoderConfig{PastHorizon: -1, FutureSkew: math.MaxInt64})
	for _, ts := range []int64{minTS, minTS + 1, -1, 0, 1, maxTS - 1, maxTS} {
		ev := Event{Kind: KindViewer, Viewer: Viewer{Header: Header{EventID: "e", TS: ts, StreamID: "s", KOLID: "k"}, Action: ActionCount}}
		out := ev.AppendJSON(nil)
		var got Event
		if err := d.Decode(KindViewer, out, testNow, &got); err != nil || got != ev {
			t.Errorf("ts %d: %s: %v, %+v", ts, out, err, got)
		}
	}
}

// An event without a currency is written without one, and so comes back with the decoder's default.
func TestAppendJSONDefaults(t *testing.T) {
	ev := Event{Kind: KindOrder, Order: Order{Header: hdr(ts1159), OrderID: "o-1", BuyerID: "b-1", Quantity: 1, Amount: 1234}}
	var got Event
	if err := NewDecoder(DecoderConfig{Currency: "HKD"}).Decode(KindOrder, ev.AppendJSON(nil), testNow, &got); err != nil {
		t.Fatal(err)
	}
	if got.Order.Currency != "HKD" {
		t.Errorf("currency %q, want the decoder's default HKD", got.Order.Currency)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	evs := roundTripEvents()[:3]
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		for i := range evs {
			buf = evs[i].AppendJSON(buf[:0])
		}
	}
}
