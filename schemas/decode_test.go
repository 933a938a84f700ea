package schemas

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// testNow is the wall clock every test decodes against.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// obj is a JSON object under construction: keys alternating with raw JSON values, in order.
type obj []string

func (o obj) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(o); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + o[i] + `":` + o[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

// with returns a copy of o with each key set to its raw JSON value, in place or appended; an
// empty value removes the key.
func (o obj) with(kv ...string) obj {
	out := append(obj{}, o...)
	for i := 0; i < len(kv); i += 2 {
		key, val := kv[i], kv[i+1]
		j := 0
		for j < len(out) && out[j] != key {
			j += 2
		}
		switch {
		case j < len(out) && val == "":
			out = append(out[:j], out[j+2:]...)
		case j < len(out):
			out[j+1] = val
		case val != "":
			out = append(out, key, val)
		}
	}
	return out
}

// Minimal valid messages, one minute before testNow.
var (
	objViewer = obj{"event_id", `"e-1"`, "ts", `"2025-06-01T11:59:00Z"`, "stream_id", `"st-1"`, "kol_id", `"kol-1"`,
		"action", `"join"`, "viewer_id", `"u-1"`}
	objCount  = objViewer.with("action", `"count"`, "viewer_id", "", "reported_viewers", `12873`)
	objEngage = objViewer.with("action", `"engage"`, "kind", `"like"`)
	objOrder  = obj{"event_id", `"e-1"`, "ts", `"2025-06-01T11:59:00Z"`, "stream_id", `"st-1"`, "kol_id", `"kol-1"`,
		"order_id", `"o-1"`, "buyer_id", `"b-1"`, "amount", `"12.34"`}
	objRefund = obj{"event_id", `"e-1"`, "ts", `"2025-06-01T11:59:00Z"`, "stream_id", `"st-1"`, "kol_id", `"kol-1"`,
		"refund_id", `"rf-1"`, "order_id", `"o-1"`, "amount", `"5.00"`}
)

// ts1159 is the event time of the minimal messages: testNow minus one minute.
var ts1159 = testNow.Add(-time.Minute).UnixMilli()

// hdr is the header of the minimal messages, with event time ts.
func hdr(ts int64) Header { return Header{EventID: "e-1", TS: ts, StreamID: "st-1", KOLID: "kol-1"} }

func TestDecodeValid(t *testing.T) {
	fWith := func(d *Decoder, kind Kind, input string, want Event) {
		t.Helper()
		want.Kind = kind
		var got Event
		if err := d.Decode(kind, []byte(input), testNow, &got); err != nil {
			t.Errorf("Decode(%s, %s):\n  %v", kind, input, err)
			return
		}
		if got != want {
			t.Errorf("Decode(%s, %s):\n  got  %+v\n  want %+v", kind, input, got, want)
		}
	}
	d := NewDecoder(DecoderConfig{})
	f := func(kind Kind, input string, want Event) { t.Helper(); fWith(d, kind, input, want) }
	viewer := func(v Viewer) Event { return Event{Viewer: v} }
	order := func(o Order) Event { return Event{Order: o} }
	refund := func(r Refund) Event { return Event{Refund: r} }
	join := func(ts int64) Event { return viewer(Viewer{Header: hdr(ts), Action: ActionJoin, ViewerID: "u-1"}) }

	// ts: RFC 3339 with and without a fraction, with offsets, or integer milliseconds.
	f(KindViewer, objViewer.String(), join(ts1159))
	f(KindViewer, objViewer.with("ts", `"2025-06-01T11:59:00.123Z"`).String(), join(ts1159+123))
	f(KindViewer, objViewer.with("ts", `"2025-06-01T11:59:00.5Z"`).String(), join(ts1159+500))
	f(KindViewer, objViewer.with("ts", `"2025-06-01T11:59:00.123456789Z"`).String(), join(ts1159+123)) // truncated to ms
	f(KindViewer, objViewer.with("ts", `"2025-06-01T19:59:00+08:00"`).String(), join(ts1159))
	f(KindViewer, objViewer.with("ts", `"2025-06-01T06:29:00.250-05:30"`).String(), join(ts1159+250))
	f(KindViewer, objViewer.with("ts", `"2025-06-01T11:59:00+00:00"`).String(), join(ts1159))
	f(KindViewer, objViewer.with("ts", `1748779140000`).String(), join(ts1159))
	f(KindViewer, objViewer.with("ts", `1748779140007`).String(), join(ts1159+7))
	// The skew and horizon bounds themselves are accepted.
	f(KindViewer, objViewer.with("ts", `"2025-06-01T12:05:00Z"`).String(), join(testNow.Add(5*time.Minute).UnixMilli()))
	f(KindViewer, objViewer.with("ts", `"2025-05-25T12:00:00Z"`).String(), join(testNow.Add(-7*24*time.Hour).UnixMilli()))
	// A negative PastHorizon accepts any age, down to what the column stores.
	replay := NewDecoder(DecoderConfig{PastHorizon: -1})
	fWith(replay, KindViewer, objViewer.with("ts", `"2019-01-01T00:00:00Z"`).String(), join(time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()))
	fWith(replay, KindViewer, objViewer.with("ts", `0`).String(), join(0))
	fWith(replay, KindViewer, objViewer.with("ts", `"1900-01-01T00:00:00Z"`).String(), join(minTS))

	// Actions; viewer_id is not needed for count; engage kinds.
	for _, a := range []Action{ActionJoin, ActionLeave, ActionHeartbeat, ActionEngage} {
		f(KindViewer, objViewer.with("action", `"`+a.String()+`"`).String(), viewer(Viewer{Header: hdr(ts1159), Action: a, ViewerID: "u-1"}))
	}
	for _, k := range []EngageKind{EngageLike, EngageComment, EngageShare, EngageFollow} {
		f(KindViewer, objEngage.with("kind", `"`+k.String()+`"`).String(), viewer(Viewer{Header: hdr(ts1159), Action: ActionEngage, ViewerID: "u-1", Kind: k}))
	}
	f(KindViewer, objViewer.with("kind", `"share"`).String(), viewer(Viewer{Header: hdr(ts1159), Action: ActionJoin, ViewerID: "u-1", Kind: EngageShare}))
	f(KindViewer, objCount.String(), viewer(Viewer{Header: hdr(ts1159), Action: ActionCount, ReportedViewers: 12873}))
	f(KindViewer, objCount.with("reported_viewers", `0`).String(), viewer(Viewer{Header: hdr(ts1159), Action: ActionCount}))
	f(KindViewer, objCount.with("reported_viewers", `9007199254740992`).String(), viewer(Viewer{Header: hdr(ts1159), Action: ActionCount, ReportedViewers: 1 << 53}))
	f(KindViewer, objCount.with("viewer_id", `"u-1"`).String(), viewer(Viewer{Header: hdr(ts1159), Action: ActionCount, ViewerID: "u-1", ReportedViewers: 12873}))
	// reported_viewers means nothing without count, and is not even looked at.
	f(KindViewer, objViewer.with("reported_viewers", `"lots"`).String(), join(ts1159))

	// Every optional field set; then null, then "" for each: both count as absent.
	full := objEngage.with("brand_id", `"brand-77"`, "platform", `"douyin"`, "session_id", `"sess-1"`,
		"device_id", `"dev-1"`, "ip", `"2001:db8::1"`)
	fullHeader := hdr(ts1159)
	fullHeader.BrandID, fullHeader.Platform = "brand-77", "douyin"
	f(KindViewer, full.String(), viewer(Viewer{Header: fullHeader, Action: ActionEngage, ViewerID: "u-1",
		SessionID: "sess-1", DeviceID: "dev-1", IP: "2001:db8::1", Kind: EngageLike}))
	for _, absent := range []string{`null`, `""`} {
		f(KindViewer, objViewer.with("brand_id", absent, "platform", absent, "session_id", absent, "device_id", absent,
			"ip", absent, "kind", absent).String(), join(ts1159))
	}
	f(KindViewer, objCount.with("viewer_id", `null`).String(), viewer(Viewer{Header: hdr(ts1159), Action: ActionCount, ReportedViewers: 12873}))

	// Unknown fields are ignored, whatever they hold.
	f(KindViewer, objViewer.with("x_trace", `{"spans":[1,-2.5e-3,{"a":null,"b":[true,false,"\ud83d\ude00"]}],"n":1e400}`,
		"EVENT_ID", `5`, "", `""`).String(), join(ts1159))
	// JSON escapes and non-ASCII text, whitespace around and inside the object.
	esc := join(ts1159)
	esc.Viewer.EventID = "e\"1\\/\u00e9\U0001F600\n\t观众"
	f(KindViewer, objViewer.with("event_id", `"e\"1\\\/\u00e9\ud83d\ude00\n\t观众"`).String(), esc)
	f(KindViewer, " \n\t{ \"event_id\" : \"e-1\" ,\r\n\"ts\":\"2025-06-01T11:59:00Z\",\"stream_id\":\"st-1\",\"kol_id\":\"kol-1\",\"action\":\"join\",\"viewer_id\":\"u-1\" }\n", join(ts1159))
	// event_id may be 128 bytes; other ids 512.
	long := join(ts1159)
	long.Viewer.EventID = strings.Repeat("e", 128)
	long.Viewer.ViewerID = strings.Repeat("观", 170) // 510 bytes
	f(KindViewer, objViewer.with("event_id", `"`+long.Viewer.EventID+`"`, "viewer_id", `"`+long.Viewer.ViewerID+`"`).String(), long)

	// Orders: amount as string, number, with an exponent; quantity and currency defaults.
	o := Order{Header: hdr(ts1159), OrderID: "o-1", BuyerID: "b-1", Quantity: 1, Amount: 1234, Currency: "CNY"}
	withAmount := func(m Money) Event { x := o; x.Amount = m; return order(x) }
	f(KindOrder, objOrder.String(), order(o))
	f(KindOrder, objOrder.with("amount", `12.34`).String(), order(o))
	f(KindOrder, objOrder.with("amount", `"1.5e2"`).String(), withAmount(15000))
	f(KindOrder, objOrder.with("amount", `1.5e2`).String(), withAmount(15000))
	f(KindOrder, objOrder.with("amount", `1E+2`).String(), withAmount(10000))
	f(KindOrder, objOrder.with("amount", `"1234e-2"`).String(), withAmount(1234))
	f(KindOrder, objOrder.with("amount", `"1.000"`).String(), withAmount(100))
	f(KindOrder, objOrder.with("amount", `"00012.50"`).String(), withAmount(1250))
	f(KindOrder, objOrder.with("amount", `0`).String(), withAmount(0))
	f(KindOrder, objOrder.with("amount", `"-0.00"`).String(), withAmount(0))
	f(KindOrder, objOrder.with("amount", `"1000000000.00"`).String(), withAmount(MaxMoney))
	f(KindOrder, objOrder.with("amount", `1e9`).String(), withAmount(MaxMoney))
	q := o
	q.Quantity = 3
	f(KindOrder, objOrder.with("quantity", `3`).String(), order(q))
	f(KindOrder, objOrder.with("quantity", `null`).String(), order(o))
	q.Quantity = 1_000_000
	f(KindOrder, objOrder.with("quantity", `1000000`).String(), order(q))
	eur := o
	eur.Currency = "EUR"
	f(KindOrder, objOrder.with("currency", `"EUR"`).String(), order(eur))
	f(KindOrder, objOrder.with("currency", `null`).String(), order(o))
	f(KindOrder, objOrder.with("currency", `""`).String(), order(o))
	usd := NewDecoder(DecoderConfig{Currency: "USD"})
	o.Currency = "USD"
	fWith(usd, KindOrder, objOrder.String(), order(o))
	fWith(usd, KindOrder, objOrder.with("currency", `"EUR"`).String(), order(eur))
	fullOrder := Order{Header: fullHeader, OrderID: "o-1", BuyerID: "b-1", SKUID: "sku-7", Quantity: 2, Amount: 25980, Currency: "CNY"}
	f(KindOrder, objOrder.with("brand_id", `"brand-77"`, "platform", `"douyin"`, "sku_id", `"sku-7"`, "quantity", `2`,
		"amount", `259.80`, "currency", `"CNY"`).String(), order(fullOrder))

	// Refunds.
	r := Refund{Header: hdr(ts1159), RefundID: "rf-1", OrderID: "o-1", Amount: 500, Currency: "CNY"}
	f(KindRefund, objRefund.String(), refund(r))
	f(KindRefund, objRefund.with("buyer_id", `null`, "currency", `null`, "reason", `null`).String(), refund(r))
	r.BuyerID, r.Reason, r.Amount = "b-1", "尺码不合适", 12990
	f(KindRefund, objRefund.with("buyer_id", `"b-1"`, "reason", `"尺码不合适"`, "amount", `129.9`).String(), refund(r))
}

func TestDecodeInvalid(t *testing.T) {
	fWith := func(d *Decoder, kind Kind, input string, reason Reason, field string) {
		t.Helper()
		var ev Event
		err := d.Decode(kind, []byte(input), testNow, &ev)
		var ie *InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("Decode(%s, %.200s):\n  got %v, want %s on %q", kind, input, err, reason, field)
			return
		}
		if ie.Kind != kind || ie.Reason != reason || ie.Field != field || ie.Detail == "" {
			t.Errorf("Decode(%s, %.200s):\n  got  %s on %q: %v\n  want %s on %q", kind, input, ie.Reason, ie.Field, ie, reason, field)
		}
	}
	d := NewDecoder(DecoderConfig{})
	f := func(kind Kind, input string, reason Reason, field string) {
		t.Helper()
		fWith(d, kind, input, reason, field)
	}

	// The message as a whole.
	f(KindViewer, objViewer.with("pad", `"`+strings.Repeat("x", 64<<10)+`"`).String(), ReasonTooLarge, "")
	fWith(NewDecoder(DecoderConfig{MaxBytes: 100}), KindViewer, objViewer.with("pad", `"`+strings.Repeat("x", 20)+`"`).String(), ReasonTooLarge, "")
	f(KindViewer, objViewer.with("viewer_id", "\"u-\xff\"").String(), ReasonNotUTF8, "")
	f(KindViewer, objViewer.with("viewer_id", "\"caf\xe9\"").String(), ReasonNotUTF8, "")                 // Latin-1
	f(KindViewer, objViewer.with("viewer_id", "\"\xed\xa0\x80\"").String(), ReasonNotUTF8, "")            // a surrogate, UTF-8 encoded
	f(KindViewer, objViewer.with("x", "\"\xc0\xaf\"").String(), ReasonNotUTF8, "")                        // overlong, in an unknown field
	f(KindViewer, objViewer.with("viewer_id", `"u-\ud800"`).String(), ReasonNotUTF8, "")                  // escaped lone high half
	f(KindViewer, objViewer.with("viewer_id", `"u-\udc00\ud800"`).String(), ReasonNotUTF8, "")            // halves in the wrong order
	f(KindViewer, objViewer.with("viewer_id", `"u-\ud800\u0041"`).String(), ReasonNotUTF8, "")            // high half, then no low half
	f(KindViewer, objViewer.with("viewer_id", `"u-\uD83D"`, "x", `"\uDE00"`).String(), ReasonNotUTF8, "") // the pair split over two strings
	f(KindViewer, objViewer.with("x", `"\\\ud800"`).String(), ReasonNotUTF8, "")                          // after an escaped backslash
	f(KindViewer, ``, ReasonNotJSON, "")
	f(KindViewer, `hello`, ReasonNotJSON, "")
	f(KindViewer, objViewer.String()[:40], ReasonNotJSON, "")                                     // truncated
	f(KindViewer, objViewer.String()+`}`, ReasonNotJSON, "")                                      // trailing garbage
	f(KindViewer, objViewer.String()+objViewer.String(), ReasonNotJSON, "")                       // two messages in one
	f(KindViewer, strings.Replace(objViewer.String(), `"u-1"}`, `"u-1",}`, 1), ReasonNotJSON, "") // trailing comma
	f(KindViewer, strings.Replace(objViewer.String(), `"e-1"`, `'e-1'`, 1), ReasonNotJSON, "")    // single quotes
	f(KindViewer, objViewer.with("viewer_id", "\"u\t1\"").String(), ReasonNotJSON, "")            // raw control character
	f(KindViewer, objViewer.with("viewer_id", "\"u\x17\\b\"").String(), ReasonNotJSON, "")        // one before an escape (found by FuzzFieldValue)
	f(KindViewer, objViewer.with("x", "\"\\n\n\\n\"").String(), ReasonNotJSON, "")                // one between escapes
	f(KindViewer, objViewer.with("x\nkey", `1`, "y", `"\\"`).String(), ReasonNotJSON, "")         // one in a key
	f(KindViewer, objViewer.with("viewer_id", "\"\\\"\x01\\\"\"").String(), ReasonNotJSON, "")    // one between escaped quotes
	f(KindViewer, objViewer.with("viewer_id", `"u\x1"`).String(), ReasonNotJSON, "")              // not a JSON escape
	f(KindViewer, objViewer.with("viewer_id", `"u\u12G4"`).String(), ReasonNotJSON, "")           // bad hex
	f(KindViewer, objViewer.with("ts", `01748779140000`).String(), ReasonNotJSON, "")             // leading zero
	f(KindOrder, objOrder.with("amount", `NaN`).String(), ReasonNotJSON, "")                      // not a JSON number
	f(KindOrder, objOrder.with("amount", `+1`).String(), ReasonNotJSON, "")
	f(KindOrder, objOrder.with("amount", `.5`).String(), ReasonNotJSON, "")
	f(KindOrder, objOrder.with("amount", `1.`).String(), ReasonNotJSON, "")
	f(KindViewer, "\ufeff"+objViewer.String(), ReasonNotJSON, "") // byte order mark
	f(KindViewer, `[`+objViewer.String()+`]`, ReasonNotObject, "")
	f(KindViewer, `"join"`, ReasonNotObject, "")
	f(KindViewer, `null`, ReasonNotObject, "")
	f(KindOrder, `42`, ReasonNotObject, "")

	// Header fields.
	f(KindViewer, objViewer.with("event_id", "").String(), ReasonMissingField, "event_id")
	f(KindViewer, objViewer.with("event_id", `null`).String(), ReasonMissingField, "event_id")
	f(KindViewer, objViewer.with("event_id", `""`).String(), ReasonMissingField, "event_id")
	f(KindViewer, objViewer.with("event_id", `"`+strings.Repeat("e", 129)+`"`).String(), ReasonBadValue, "event_id")
	f(KindViewer, objViewer.with("event_id", `"`+strings.Repeat("观", 43)+`"`).String(), ReasonBadValue, "event_id") // 129 bytes, 43 characters
	f(KindViewer, objViewer.with("event_id", `42`).String(), ReasonWrongType, "event_id")
	f(KindViewer, objViewer.with("stream_id", `""`).String(), ReasonMissingField, "stream_id")
	f(KindViewer, objViewer.with("stream_id", "").String(), ReasonMissingField, "stream_id")
	f(KindViewer, objViewer.with("stream_id", `"`+strings.Repeat("s", 513)+`"`).String(), ReasonBadValue, "stream_id")
	f(KindViewer, objViewer.with("kol_id", `5521`).String(), ReasonWrongType, "kol_id")
	f(KindViewer, objViewer.with("kol_id", `["kol-1"]`).String(), ReasonWrongType, "kol_id")
	f(KindViewer, objViewer.with("brand_id", `7`).String(), ReasonWrongType, "brand_id")
	f(KindViewer, objViewer.with("platform", `{"name":"douyin"}`).String(), ReasonWrongType, "platform")
	f(KindViewer, objViewer.with("platform", `"`+strings.Repeat("p", 513)+`"`).String(), ReasonBadValue, "platform")

	// ts.
	f(KindViewer, objViewer.with("ts", "").String(), ReasonMissingField, "ts")
	f(KindViewer, objViewer.with("ts", `null`).String(), ReasonMissingField, "ts")
	f(KindViewer, objViewer.with("ts", `true`).String(), ReasonWrongType, "ts")
	f(KindViewer, objViewer.with("ts", `{}`).String(), ReasonWrongType, "ts")
	for _, bad := range []string{
		`"yesterday"`, `""`, `"2025-06-01"`, `"2025-06-01T11:59Z"`, `"2025-06-01 11:59:00Z"`,
		`"2025-06-01t11:59:00z"`,                                     // lower-case T and Z: RFC 3339 allows them, the contract does not
		`"2025-06-01T11:59:00"`,                                      // no offset
		`"2025-06-01T11:59:00+0800"`,                                 // offset without colon
		`"2025-06-01T11:59:00,5Z"`,                                   // comma before the fraction (Go's time.Parse takes it)
		`"2025-06-01T1:59:00Z"`,                                      // one-digit hour (idem)
		`"2025-06-01T11:59:00+24:00"`, `"2025-06-01T11:59:00+08:60"`, // offsets out of range (idem)
		`"2025-06-01T11:59:00.Z"`, `"2025-06-01T11:59:60Z"`, `"2025-02-29T11:59:00Z"`, `"2025-06-31T11:59:00Z"`,
		`"2025-06-01T24:00:00Z"`, `" 2025-06-01T11:59:00Z"`, `"2025-06-01T11:59:00Z "`,
		`1748779140000.5`, `1.74877914e12`, `-1.5`, `99999999999999999999`,
	} {
		f(KindViewer, objViewer.with("ts", bad).String(), ReasonBadTimestamp, "ts")
	}
	f(KindViewer, objViewer.with("ts", `"2025-06-01T12:05:00.001Z"`).String(), ReasonFutureTimestamp, "ts") // skew + 1 ms
	f(KindViewer, objViewer.with("ts", `"2025-06-02T00:00:00+08:00"`).String(), ReasonFutureTimestamp, "ts")
	f(KindViewer, objViewer.with("ts", `9223372036854775807`).String(), ReasonFutureTimestamp, "ts")
	f(KindViewer, objViewer.with("ts", `"2025-05-25T11:59:59.999Z"`).String(), ReasonStaleTimestamp, "ts") // horizon + 1 ms
	f(KindViewer, objViewer.with("ts", `0`).String(), ReasonStaleTimestamp, "ts")
	f(KindViewer, objViewer.with("ts", `-9223372036854775808`).String(), ReasonStaleTimestamp, "ts")
	fWith(NewDecoder(DecoderConfig{FutureSkew: time.Second}), KindViewer, objViewer.with("ts", `"2025-06-01T12:00:01.001Z"`).String(), ReasonFutureTimestamp, "ts")
	fWith(NewDecoder(DecoderConfig{PastHorizon: time.Hour}), KindViewer, objViewer.with("ts", `"2025-06-01T10:59:59Z"`).String(), ReasonStaleTimestamp, "ts")
	// With the clock checks off, the column's range still holds.
	anyAge := NewDecoder(DecoderConfig{PastHorizon: -1, FutureSkew: math.MaxInt64})
	fWith(anyAge, KindViewer, objViewer.with("ts", `"1899-12-31T23:59:59.999Z"`).String(), ReasonBadTimestamp, "ts")
	fWith(anyAge, KindViewer, objViewer.with("ts", `"1900-01-01T00:30:00+01:00"`).String(), ReasonBadTimestamp, "ts")
	fWith(anyAge, KindViewer, objViewer.with("ts", `"2300-01-01T00:00:00Z"`).String(), ReasonBadTimestamp, "ts")
	fWith(anyAge, KindViewer, objViewer.with("ts", `-62135596800000`).String(), ReasonBadTimestamp, "ts") // year 1

	// Viewer fields.
	f(KindViewer, objViewer.with("action", "").String(), ReasonMissingField, "action")
	f(KindViewer, objViewer.with("action", `""`).String(), ReasonMissingField, "action")
	f(KindViewer, objViewer.with("action", `"wave"`).String(), ReasonUnknownAction, "action")
	f(KindViewer, objViewer.with("action", `"JOIN"`).String(), ReasonUnknownAction, "action")
	f(KindViewer, objViewer.with("action", `"join "`).String(), ReasonUnknownAction, "action")
	f(KindViewer, objViewer.with("action", `"heartbeat-heartbeat"`).String(), ReasonUnknownAction, "action")
	f(KindViewer, objViewer.with("action", `1`).String(), ReasonWrongType, "action")
	f(KindViewer, objViewer.with("viewer_id", "").String(), ReasonMissingField, "viewer_id")
	f(KindViewer, objViewer.with("viewer_id", `null`).String(), ReasonMissingField, "viewer_id")
	f(KindViewer, objViewer.with("viewer_id", `""`).String(), ReasonMissingField, "viewer_id")
	f(KindViewer, objEngage.with("viewer_id", "").String(), ReasonMissingField, "viewer_id")
	f(KindViewer, objCount.with("viewer_id", `12`).String(), ReasonWrongType, "viewer_id")
	f(KindViewer, objViewer.with("ip", `"`+strings.Repeat("1", 65)+`"`).String(), ReasonBadValue, "ip")
	f(KindViewer, objViewer.with("session_id", `1`).String(), ReasonWrongType, "session_id")
	f(KindViewer, objEngage.with("kind", `"love"`).String(), ReasonBadValue, "kind")
	f(KindViewer, objEngage.with("kind", `"Like"`).String(), ReasonBadValue, "kind")
	f(KindViewer, objEngage.with("kind", `3`).String(), ReasonWrongType, "kind")
	f(KindViewer, objCount.with("reported_viewers", "").String(), ReasonMissingField, "reported_viewers")
	f(KindViewer, objCount.with("reported_viewers", `null`).String(), ReasonMissingField, "reported_viewers")
	f(KindViewer, objCount.with("reported_viewers", `-1`).String(), ReasonBadValue, "reported_viewers")
	f(KindViewer, objCount.with("reported_viewers", `1.5`).String(), ReasonBadValue, "reported_viewers")
	f(KindViewer, objCount.with("reported_viewers", `9007199254740993`).String(), ReasonBadValue, "reported_viewers")
	f(KindViewer, objCount.with("reported_viewers", `"3"`).String(), ReasonWrongType, "reported_viewers")
	f(KindViewer, objCount.with("reported_viewers", `[3]`).String(), ReasonWrongType, "reported_viewers")

	// Order fields.
	f(KindOrder, objOrder.with("order_id", "").String(), ReasonMissingField, "order_id")
	f(KindOrder, objOrder.with("buyer_id", `""`).String(), ReasonMissingField, "buyer_id")
	f(KindOrder, objOrder.with("sku_id", `7`).String(), ReasonWrongType, "sku_id")
	f(KindOrder, objOrder.with("amount", "").String(), ReasonMissingField, "amount")
	f(KindOrder, objOrder.with("amount", `null`).String(), ReasonMissingField, "amount")
	f(KindOrder, objOrder.with("amount", `true`).String(), ReasonWrongType, "amount")
	f(KindOrder, objOrder.with("amount", `{"value":"1.00"}`).String(), ReasonWrongType, "amount")
	f(KindOrder, objOrder.with("amount", `-1`).String(), ReasonNegativeAmount, "amount")
	f(KindOrder, objOrder.with("amount", `-0.01`).String(), ReasonNegativeAmount, "amount")
	f(KindOrder, objOrder.with("amount", `"-5.00"`).String(), ReasonNegativeAmount, "amount")
	f(KindOrder, objOrder.with("amount", `-1e30`).String(), ReasonNegativeAmount, "amount")
	for _, bad := range []string{
		`"abc"`, `""`, `" 1.00"`, `"1,00"`, `"1.00 CNY"`, `"¥1.00"`, `"0x10"`, `"--1"`, `"-"`, `"+1"`, `".5"`, `"5."`,
		`"NaN"`, `"Infinity"`, `"1.005"`, `0.001`, `1.005`, `"1.2345e1"`, `1e-3`,
		`1e30`, `"1e30"`, `"1000000000.01"`, `1000000000.01`, `"12345678901.23"`, `"1e31"`, `"1e-31"`,
	} {
		f(KindOrder, objOrder.with("amount", bad).String(), ReasonBadAmount, "amount")
	}
	f(KindOrder, objOrder.with("quantity", `0`).String(), ReasonBadValue, "quantity")
	f(KindOrder, objOrder.with("quantity", `-1`).String(), ReasonBadValue, "quantity")
	f(KindOrder, objOrder.with("quantity", `1.5`).String(), ReasonBadValue, "quantity")
	f(KindOrder, objOrder.with("quantity", `1000001`).String(), ReasonBadValue, "quantity")
	f(KindOrder, objOrder.with("quantity", `"2"`).String(), ReasonWrongType, "quantity")
	f(KindOrder, objOrder.with("currency", `"cny"`).String(), ReasonBadValue, "currency")
	f(KindOrder, objOrder.with("currency", `"EURO"`).String(), ReasonBadValue, "currency")
	f(KindOrder, objOrder.with("currency", `"U$D"`).String(), ReasonBadValue, "currency")
	f(KindOrder, objOrder.with("currency", `156`).String(), ReasonWrongType, "currency")

	// Refund fields.
	f(KindRefund, objRefund.with("order_id", "").String(), ReasonMissingField, "order_id")
	f(KindRefund, objRefund.with("refund_id", "").String(), ReasonMissingField, "refund_id")
	f(KindRefund, objRefund.with("refund_id", `17`).String(), ReasonWrongType, "refund_id")
	f(KindRefund, objRefund.with("buyer_id", `false`).String(), ReasonWrongType, "buyer_id")
	f(KindRefund, objRefund.with("amount", `"-0.01"`).String(), ReasonNegativeAmount, "amount")
	f(KindRefund, objRefund.with("amount", `"0.001"`).String(), ReasonBadAmount, "amount")
	f(KindRefund, objRefund.with("currency", `"rmb"`).String(), ReasonBadValue, "currency")
	f(KindRefund, objRefund.with("reason", `5`).String(), ReasonWrongType, "reason")
	f(KindRefund, objRefund.with("reason", `"`+strings.Repeat("r", 513)+`"`).String(), ReasonBadValue, "reason")

	// The first violation, in field order, is the one reported.
	f(KindOrder, objOrder.with("amount", `-1`, "event_id", "", "kol_id", `1`).String(), ReasonMissingField, "event_id")
	f(KindOrder, objOrder.with("amount", `-1`, "kol_id", `1`).String(), ReasonWrongType, "kol_id")
	f(KindOrder, objOrder.with("amount", `-1`, "currency", `"x"`).String(), ReasonNegativeAmount, "amount")
}

// A JSON nesting deeper than maxDepth (300, counting the message object itself) is
// not_json, even inside an unknown field; it never exhausts the stack, whatever MaxBytes allows.
func TestDecodeDeepNesting(t *testing.T) {
	d := NewDecoder(DecoderConfig{})
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	check := func(d *Decoder, kind Kind, input string, want Reason) {
		t.Helper()
		var ev Event
		err := d.Decode(kind, []byte(input), testNow, &ev)
		var ie *InvalidError
		switch {
		case want == "" && err != nil:
			t.Errorf("%d bytes: %v, want success", len(input), err)
		case want != "" && (!errors.As(err, &ie) || ie.Reason != want || ie.Field != ""):
			t.Errorf("%d bytes: %v, want %s", len(input), err, want)
		}
	}
	check(d, KindViewer, objViewer.with("x", nested(299)).String(), "")
	check(d, KindViewer, objViewer.with("x", nested(300)).String(), ReasonNotJSON)
	check(d, KindViewer, objViewer.with("x", nested(10_000)).String(), ReasonNotJSON)
	check(d, KindOrder, objOrder.with("x", strings.Repeat(`{"a":`, 10_000)+`1`+strings.Repeat(`}`, 10_000)).String(), ReasonNotJSON)
	check(d, KindViewer, nested(10_000), ReasonNotJSON)
	check(d, KindViewer, strings.Repeat("[", 64<<10), ReasonNotJSON) // exactly the size limit, unbalanced
	huge := NewDecoder(DecoderConfig{MaxBytes: 64 << 20})
	check(huge, KindViewer, objViewer.with("x", nested(16<<20)).String(), ReasonNotJSON)
}

func TestDecoderConfigDefaults(t *testing.T) {
	got := NewDecoder(DecoderConfig{}).Config()
	want := DecoderConfig{MaxBytes: 64 << 10, FutureSkew: 5 * time.Minute, PastHorizon: 7 * 24 * time.Hour, Currency: "CNY"}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	set := DecoderConfig{MaxBytes: 1000, FutureSkew: time.Second, PastHorizon: -1, Currency: "USD"}
	if got := NewDecoder(set).Config(); got != set {
		t.Errorf("Config() = %+v, want %+v", got, set)
	}
}

func TestInvalidErrorMessage(t *testing.T) {
	var ev Event
	err := NewDecoder(DecoderConfig{}).Decode(KindOrder, []byte(objOrder.with("amount", `"1.005"`).String()), testNow, &ev)
	if got, want := err.Error(), `invalid order event: bad_amount: field "amount": "1.005": more than 2 fraction digits`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	err = NewDecoder(DecoderConfig{}).Decode(KindRefund, []byte(`[]`), testNow, &ev)
	if got, want := err.Error(), `invalid refund event: not_object: message is JSON array, want object`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// One Decoder and one Event are reused across messages: nothing of a message may leak into the
// next, and the event must not alias the input buffer (Kafka clients reuse it).
func TestDecodeReuse(t *testing.T) {
	d := NewDecoder(DecoderConfig{})
	var ev Event
	full := objOrder.with("brand_id", `"b"`, "platform", `"p"`, "sku_id", `"s"`, "quantity", `5`, "currency", `"USD"`)
	buf := []byte(full.String())
	if err := d.Decode(KindOrder, buf, testNow, &ev); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'X'
	}
	if ev.Order.OrderID != "o-1" || ev.Order.BrandID != "b" || ev.Order.Currency != "USD" {
		t.Errorf("event aliases the input: %+v", ev.Order)
	}
	if err := d.Decode(KindOrder, []byte(`{"bad"`), testNow, &ev); err == nil {
		t.Fatal("want an error")
	}
	if err := d.Decode(KindOrder, []byte(objOrder.String()), testNow, &ev); err != nil {
		t.Fatal(err)
	}
	want := Event{Kind: KindOrder, Order: Order{Header: hdr(ts1159), OrderID: "o-1", BuyerID: "b-1", Quantity: 1, Amount: 1234, Currency: "CNY"}}
	if ev != want {
		t.Errorf("after reuse:\n  got  %+v\n  want %+v", ev, want)
	}
	if err := d.Decode(KindViewer, []byte(objCount.String()), testNow, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Order != (Order{}) || ev.Header() != &ev.Viewer.Header || ev.Header().EventID != "e-1" {
		t.Errorf("after a viewer event: %+v", ev)
	}
}

func TestKindActionStrings(t *testing.T) {
	for k, want := range map[Kind]string{KindViewer: "viewer", KindOrder: "order", KindRefund: "refund", 9: "kind(9)"} {
		if k.String() != want {
			t.Errorf("Kind(%d) = %q, want %q", k, k.String(), want)
		}
	}
	for _, k := range Kinds {
		if k.DefaultTopic() != "livepulse."+k.String() {
			t.Errorf("%s topic %q", k, k.DefaultTopic())
		}
	}
	if Action(9).String() != "action(9)" || EngageKind(9).String() != "kind(9)" || ActionCount.String() != "count" {
		t.Error("Action/EngageKind String")
	}
	h := Header{TS: ts1159}
	if !h.Time().Equal(testNow.Add(-time.Minute)) || h.Time().Location() != time.UTC {
		t.Errorf("Header.Time() = %v", h.Time())
	}
}
