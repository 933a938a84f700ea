package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDecode feeds arbitrary bytes to the decoder as each kind, under the default configuration
// and with the clock checks off. Decode must never panic; whatever it accepts must satisfy the
// contract's invariants, read the same as encoding/json reads it, pass the JSON Schema (the schema
// is never stricter than the decoder), and survive AppendJSON → Decode unchanged.
//
// Seeds: the contract corpus, the hand seeds below and testdata/fuzz/FuzzDecode/.
func FuzzDecode(f *testing.F) {
	for _, c := range readCorpus(f) {
		f.Add(c.raw)
	}
	for _, seed := range []string{
		objViewer.String(),
		objCount.String(),
		objEngage.with("brand_id", `"b"`, "platform", `null`, "session_id", `""`, "ip", `"::1"`).String(),
		objViewer.with("ts", `1748779140000`, "event_id", `"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"`).String(),
		objOrder.with("amount", `1.5e2`, "quantity", `7`, "currency", `"USD"`, "sku_id", `"s"`).String(),
		objOrder.with("amount", `"0.10"`, "ts", `"2025-06-01T19:59:00.999999+08:00"`).String(),
		objRefund.with("reason", `"观众"`, "buyer_id", `"b"`, "amount", `0`).String(),
		objRefund.with("x", `[{"y":[1,2,{"z":null}]},true,false,-0.5e-7]`).String(),
	} {
		f.Add([]byte(seed))
	}
	s := loadSchemas(f)
	decoders := []*Decoder{NewDecoder(DecoderConfig{}), permissiveDecoder()}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkDecode(t, s, decoders, raw)
	})
}

// FuzzFieldValue is FuzzDecode aimed at values: it sets one field of a valid message to the
// fuzzed JSON text, so most inputs get past the syntax checks and exercise the field rules, and
// the comparisons with encoding/json and the JSON Schema run on many accepted messages.
func FuzzFieldValue(f *testing.F) {
	for _, seed := range []struct {
		field uint8
		value string
	}{
		{0, `"e-1"`}, {1, `"2025-06-01T19:59:00.5+08:00"`}, {1, `1748779140000`}, {6, `"count"`}, {8, `12873`},
		{9, `"like"`}, {10, `"1.5e2"`}, {10, `129.90`}, {11, `"USD"`}, {12, `2`}, {13, `"\u89c2\ud83d\ude00"`},
		{14, `null`}, {15, `[1,{"a":"b"}]`},
	} {
		f.Add(seed.field, seed.value)
	}
	s := loadSchemas(f)
	decoders := []*Decoder{NewDecoder(DecoderConfig{}), permissiveDecoder()}
	bases := map[Kind]obj{KindViewer: objViewer, KindOrder: objOrder, KindRefund: objRefund}
	fields := []string{"event_id", "ts", "stream_id", "kol_id", "brand_id", "platform", "action", "viewer_id",
		"reported_viewers", "kind", "amount", "currency", "quantity", "reason", "buyer_id", "x_unknown"}
	f.Fuzz(func(t *testing.T, field uint8, value string) {
		name := fields[int(field)%len(fields)]
		for _, k := range Kinds {
			base := bases[k]
			if name == "reported_viewers" {
				base = objCount
			}
			checkDecode(t, s, decoders, []byte(base.with(name, value).String()))
		}
	})
}

// checkDecode decodes raw as each kind with each decoder and checks whatever is accepted.
func checkDecode(t *testing.T, s *contractSchemas, decoders []*Decoder, raw []byte) {
	t.Helper()
	for _, kind := range Kinds {
		for _, d := range decoders {
			var ev Event
			err := d.Decode(kind, raw, testNow, &ev)
			if err != nil {
				var ie *InvalidError
				if !errors.As(err, &ie) || ie.Kind != kind || !slices.Contains(Reasons, ie.Reason) {
					t.Fatalf("Decode(%s) returned %#v, want an *InvalidError with a known Reason", kind, err)
				}
				continue
			}
			checkInvariants(t, d.Config(), kind, &ev)
			checkStdlibReadsTheSame(t, kind, raw, &ev)
			if countKeys(raw) == len(topLevel(raw)) { // duplicate keys: see README
				if err := s.validate(kind, raw); err != nil {
					t.Fatalf("the decoder accepts what the %s JSON Schema rejects: %v\n%q", kind, err, raw)
				}
			}
			out := ev.AppendJSON(nil)
			if !json.Valid(out) {
				t.Fatalf("AppendJSON wrote invalid JSON: %q", out)
			}
			var again Event
			if err := d.Decode(kind, out, testNow, &again); err != nil {
				t.Fatalf("re-decoding %q: %v", out, err)
			}
			if again != ev {
				t.Fatalf("round trip changed the event:\n  %+v\n  %+v\n  via %q", ev, again, out)
			}
		}
	}
}

func checkInvariants(t *testing.T, cfg DecoderConfig, kind Kind, ev *Event) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("accepted %s event %+v: "+format, append([]any{kind, *ev}, args...)...)
	}
	if ev.Kind != kind {
		fail("Kind %s", ev.Kind)
	}
	h := ev.Header()
	text := func(name, s string, required bool, limit int) {
		t.Helper()
		if required && s == "" || len(s) > limit || !utf8.ValidString(s) {
			fail("%s = %q", name, s)
		}
	}
	text("event_id", h.EventID, true, MaxIDBytes)
	text("stream_id", h.StreamID, true, MaxFieldBytes)
	text("kol_id", h.KOLID, true, MaxFieldBytes)
	text("brand_id", h.BrandID, false, MaxFieldBytes)
	text("platform", h.Platform, false, MaxFieldBytes)
	now := testNow.UnixMilli()
	if h.TS < minTS || h.TS > maxTS || h.TS > now+cfg.FutureSkew.Milliseconds() ||
		cfg.PastHorizon > 0 && h.TS < now-cfg.PastHorizon.Milliseconds() {
		fail("ts %d outside the accepted range", h.TS)
	}
	money := func(m Money, currency string) {
		t.Helper()
		if m < 0 || m > MaxMoney {
			fail("amount %d", m)
		}
		if len(currency) != 3 || !isUpper(currency[0]) || !isUpper(currency[1]) || !isUpper(currency[2]) {
			fail("currency %q", currency)
		}
	}
	switch kind {
	case KindViewer:
		v := &ev.Viewer
		if v.Action < ActionJoin || v.Action > ActionCount || v.Kind > EngageFollow {
			fail("action %d, kind %d", v.Action, v.Kind)
		}
		text("viewer_id", v.ViewerID, v.Action != ActionCount, MaxFieldBytes)
		text("session_id", v.SessionID, false, MaxFieldBytes)
		text("device_id", v.DeviceID, false, MaxFieldBytes)
		text("ip", v.IP, false, 64)
		if v.ReportedViewers > 1<<53 || v.Action != ActionCount && v.ReportedViewers != 0 {
			fail("reported_viewers %d", v.ReportedViewers)
		}
		if ev.Order != (Order{}) || ev.Refund != (Refund{}) {
			fail("other members set")
		}
	case KindOrder:
		o := &ev.Order
		text("order_id", o.OrderID, true, MaxFieldBytes)
		text("buyer_id", o.BuyerID, true, MaxFieldBytes)
		text("sku_id", o.SKUID, false, MaxFieldBytes)
		if o.Quantity < 1 || o.Quantity > 1_000_000 {
			fail("quantity %d", o.Quantity)
		}
		money(o.Amount, o.Currency)
		if ev.Viewer != (Viewer{}) || ev.Refund != (Refund{}) {
			fail("other members set")
		}
	case KindRefund:
		r := &ev.Refund
		text("refund_id", r.RefundID, true, MaxFieldBytes)
		text("order_id", r.OrderID, true, MaxFieldBytes)
		text("buyer_id", r.BuyerID, false, MaxFieldBytes)
		text("reason", r.Reason, false, MaxFieldBytes)
		money(r.Amount, r.Currency)
		if ev.Viewer != (Viewer{}) || ev.Order != (Order{}) {
			fail("other members set")
		}
	}
}

// topLevel reads raw with encoding/json (numbers kept as text); nil if it cannot.
func topLevel(raw []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

// checkStdlibReadsTheSame compares the decoded event with an independent reading of raw by
// encoding/json, field by field.
func checkStdlibReadsTheSame(t *testing.T, kind Kind, raw []byte, ev *Event) {
	t.Helper()
	if !json.Valid(raw) {
		t.Fatalf("the decoder accepts what encoding/json says is not JSON: %q", raw)
	}
	m := topLevel(raw)
	if m == nil {
		t.Fatalf("the decoder accepts a %s that encoding/json cannot read as an object: %q", kind, raw)
	}
	if countKeys(raw) != len(m) {
		return // duplicate keys: the decoder takes the first, encoding/json the last
	}
	fail := func(field string, got any) {
		t.Helper()
		t.Fatalf("%s: the decoder reads %#v, encoding/json %#v\n%q", field, got, m[field], raw)
	}
	str := func(field, got string) {
		t.Helper()
		want, _ := m[field].(string)
		if got != want {
			fail(field, got)
		}
	}
	h := ev.Header()
	str("event_id", h.EventID)
	str("stream_id", h.StreamID)
	str("kol_id", h.KOLID)
	str("brand_id", h.BrandID)
	str("platform", h.Platform)
	var ts int64
	switch v := m["ts"].(type) {
	case json.Number:
		ts, _ = v.Int64()
	case string:
		tt, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			fail("ts", h.TS)
		}
		ts = tt.UnixMilli()
	}
	if ts != h.TS {
		fail("ts", h.TS)
	}
	amount := func(got Money) {
		t.Helper()
		var text string
		switch v := m["amount"].(type) {
		case json.Number:
			text = v.String()
		case string:
			text = v
		}
		r, ok := new(big.Rat).SetString(text)
		if !ok || r.Cmp(big.NewRat(int64(got), 100)) != 0 {
			fail("amount", got)
		}
	}
	currency := func(got string) {
		t.Helper()
		if want, _ := m["currency"].(string); want != "" && got != want {
			fail("currency", got)
		}
	}
	switch kind {
	case KindViewer:
		v := &ev.Viewer
		str("action", v.Action.String())
		str("viewer_id", v.ViewerID)
		str("session_id", v.SessionID)
		str("device_id", v.DeviceID)
		str("ip", v.IP)
		str("kind", v.Kind.String())
		if v.Action == ActionCount {
			if n, _ := m["reported_viewers"].(json.Number); n.String() != big.NewInt(0).SetUint64(v.ReportedViewers).String() {
				fail("reported_viewers", v.ReportedViewers)
			}
		}
	case KindOrder:
		o := &ev.Order
		str("order_id", o.OrderID)
		str("buyer_id", o.BuyerID)
		str("sku_id", o.SKUID)
		if n, ok := m["quantity"].(json.Number); ok && n.String() != big.NewInt(int64(o.Quantity)).String() || !ok && o.Quantity != 1 {
			fail("quantity", o.Quantity)
		}
		amount(o.Amount)
		currency(o.Currency)
	case KindRefund:
		r := &ev.Refund
		str("refund_id", r.RefundID)
		str("order_id", r.OrderID)
		str("buyer_id", r.BuyerID)
		str("reason", r.Reason)
		amount(r.Amount)
		currency(r.Currency)
	}
}
