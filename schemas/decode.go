package schemas

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// DecoderConfig holds the contract's tunables. The zero value is the documented default.
type DecoderConfig struct {
	// MaxBytes is the largest accepted message. Default 64 KiB.
	MaxBytes int
	// FutureSkew is how far ahead of the wall clock an event time may be. Default 5 minutes.
	FutureSkew time.Duration
	// PastHorizon is how far behind the wall clock an event time may be. Default 7 days;
	// negative accepts any age (replaying history).
	PastHorizon time.Duration
	// Currency applies to orders and refunds that name none. Default "CNY".
	Currency string
}

// MaxIDBytes bounds event_id; other identifiers and free text share MaxFieldBytes.
const (
	MaxIDBytes    = 128
	MaxFieldBytes = 512
)

func (c DecoderConfig) withDefaults() DecoderConfig {
	if c.MaxBytes <= 0 {
		c.MaxBytes = 64 << 10
	}
	if c.FutureSkew <= 0 {
		c.FutureSkew = 5 * time.Minute
	}
	if c.PastHorizon == 0 {
		c.PastHorizon = 7 * 24 * time.Hour
	}
	if c.Currency == "" {
		c.Currency = "CNY"
	}
	return c
}

// Decoder decodes messages into events, strictly. It reuses its parser: one Decoder per goroutine.
type Decoder struct {
	cfg    DecoderConfig
	p      fastjson.Parser
	intern interner
}

// NewDecoder returns a decoder for cfg.
func NewDecoder(cfg DecoderConfig) *Decoder {
	return &Decoder{cfg: cfg.withDefaults(), intern: interner{m: make(map[string]string)}}
}

// Config returns the effective configuration, defaults filled in.
func (d *Decoder) Config() DecoderConfig { return d.cfg }

// Decode decodes raw as an event of kind into ev, checking event time against now. It returns an
// *InvalidError when raw breaks the contract; ev is then partly filled and must not be used.
// Strings in ev do not alias raw.
func (d *Decoder) Decode(kind Kind, raw []byte, now time.Time, ev *Event) error {
	*ev = Event{Kind: kind}
	if len(raw) > d.cfg.MaxBytes {
		return &InvalidError{Kind: kind, Reason: ReasonTooLarge,
			Detail: strconv.Itoa(len(raw)) + " bytes, limit " + strconv.Itoa(d.cfg.MaxBytes)}
	}
	if !utf8.Valid(raw) {
		return &InvalidError{Kind: kind, Reason: ReasonNotUTF8, Detail: "message is not valid UTF-8"}
	}
	v, err := d.p.ParseBytes(raw)
	if err != nil {
		return &InvalidError{Kind: kind, Reason: ReasonNotJSON, Detail: err.Error()}
	}
	// fastjson's Parser is best effort: it takes leading zeros, raw control characters in strings
	// and unknown escapes such as \x. Validate is strict (but see checkEscapedStrings) and has no
	// depth limit, so it runs only on what Parse (nesting ≤ fastjson.MaxDepth) accepted.
	if err := fastjson.ValidateBytes(raw); err != nil {
		return &InvalidError{Kind: kind, Reason: ReasonNotJSON, Detail: err.Error()}
	}
	switch reason, i := checkEscapedStrings(raw); reason {
	case ReasonNotJSON:
		return &InvalidError{Kind: kind, Reason: reason,
			Detail: "raw control character " + strconv.QuoteRune(rune(raw[i])) + " in a string at byte " + strconv.Itoa(i)}
	case ReasonNotUTF8:
		return &InvalidError{Kind: kind, Reason: reason,
			Detail: "escape " + strconv.Quote(string(raw[i:i+6])) + " at byte " + strconv.Itoa(i) + " is half of a UTF-16 surrogate pair"}
	}
	obj, err := v.Object()
	if err != nil {
		return &InvalidError{Kind: kind, Reason: ReasonNotObject, Detail: "message is JSON " + v.Type().String() + ", want object"}
	}
	r := reader{kind: kind, obj: obj, intern: &d.intern}
	h := ev.Header()
	h.EventID = r.str("event_id", true, MaxIDBytes)
	h.TS = r.ts(now, d.cfg)
	h.StreamID = r.shared("stream_id", true, MaxFieldBytes)
	h.KOLID = r.shared("kol_id", true, MaxFieldBytes)
	h.BrandID = r.shared("brand_id", false, MaxFieldBytes)
	h.Platform = r.shared("platform", false, MaxFieldBytes)
	switch kind {
	case KindViewer:
		r.viewer(&ev.Viewer)
	case KindOrder:
		r.order(&ev.Order, d.cfg.Currency)
	case KindRefund:
		r.refund(&ev.Refund, d.cfg.Currency)
	}
	if r.err != nil {
		return r.err
	}
	return nil
}

// reader extracts fields and keeps the first contract violation.
type reader struct {
	kind   Kind
	obj    *fastjson.Object
	err    *InvalidError
	intern *interner
}

func (r *reader) fail(reason Reason, field, detail string) {
	if r.err == nil {
		r.err = &InvalidError{Kind: r.kind, Reason: reason, Field: field, Detail: detail}
	}
}

func (r *reader) get(field string) *fastjson.Value {
	if r.err != nil {
		return nil
	}
	v := r.obj.Get(field)
	if v != nil && v.Type() == fastjson.TypeNull {
		return nil // null means absent
	}
	return v
}

func (r *reader) str(field string, required bool, maxLen int) string {
	b, ok := r.strBytes(field, required, maxLen)
	if !ok {
		return ""
	}
	return string(b)
}

// shared is str for fields whose values repeat from event to event (stream, KOL, brand,
// platform, action…): one interned copy each, so decoding them allocates nothing.
func (r *reader) shared(field string, required bool, maxLen int) string {
	b, ok := r.strBytes(field, required, maxLen)
	if !ok {
		return ""
	}
	return r.intern.get(b)
}

// strBytes returns field's string value, unescaped (it aliases the parser's memory), and false
// when it is absent or breaks the contract.
func (r *reader) strBytes(field string, required bool, maxLen int) ([]byte, bool) {
	v := r.get(field)
	if v == nil {
		if required && r.err == nil {
			r.fail(ReasonMissingField, field, "required")
		}
		return nil, false
	}
	b, err := v.StringBytes()
	if err != nil {
		r.fail(ReasonWrongType, field, "is "+v.Type().String()+", want string")
		return nil, false
	}
	if len(b) == 0 && required {
		r.fail(ReasonMissingField, field, "required, got an empty string")
		return nil, false
	}
	if len(b) > maxLen {
		r.fail(ReasonBadValue, field, strconv.Itoa(len(b))+" bytes, limit "+strconv.Itoa(maxLen))
		return nil, false
	}
	if !utf8.Valid(b) { // defensive: checkEscapedStrings already rejected lone surrogates
		r.fail(ReasonNotUTF8, field, "escapes decode to invalid UTF-8")
		return nil, false
	}
	return b, true
}

func (r *reader) ts(now time.Time, cfg DecoderConfig) int64 {
	const field = "ts"
	v := r.get(field)
	if v == nil {
		r.fail(ReasonMissingField, field, "required")
		return 0
	}
	var ms int64
	switch v.Type() {
	case fastjson.TypeString:
		s := v.GetStringBytes()
		if !isRFC3339(s) {
			r.fail(ReasonBadTimestamp, field, "not RFC 3339: "+strconv.Quote(string(s))+
				" (want 2006-01-02T15:04:05Z, optional .fraction, Z or ±hh:mm offset)")
			return 0
		}
		t, err := time.Parse(time.RFC3339Nano, string(s))
		if err != nil {
			r.fail(ReasonBadTimestamp, field, "not RFC 3339: "+err.Error())
			return 0
		}
		ms = t.UnixMilli()
	case fastjson.TypeNumber:
		n, err := v.Int64()
		if err != nil {
			r.fail(ReasonBadTimestamp, field, "not integer Unix milliseconds")
			return 0
		}
		ms = n
	default:
		r.fail(ReasonWrongType, field, "is "+v.Type().String()+", want RFC 3339 string or Unix milliseconds")
		return 0
	}
	nowMS := now.UnixMilli()
	if ms > nowMS+cfg.FutureSkew.Milliseconds() {
		r.fail(ReasonFutureTimestamp, field, time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)+
			" is more than "+cfg.FutureSkew.String()+" ahead of now")
		return 0
	}
	if cfg.PastHorizon > 0 && ms < nowMS-cfg.PastHorizon.Milliseconds() {
		r.fail(ReasonStaleTimestamp, field, time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)+
			" is older than "+cfg.PastHorizon.String())
		return 0
	}
	if ms < minTS || ms > maxTS { // reachable only when the skew or horizon allow centuries
		r.fail(ReasonBadTimestamp, field, strconv.FormatInt(ms, 10)+
			" ms is outside 1900-01-01..2299-12-31, the range of the DateTime64 column")
		return 0
	}
	return ms
}

// minTS and maxTS bound an event time to what ClickHouse's DateTime64 stores (and RFC 3339 can
// write): 1900-01-01T00:00:00Z to 2299-12-31T23:59:59.999Z.
const (
	minTS int64 = -2208988800000
	maxTS int64 = 10413791999999
)

// isRFC3339 reports whether s has the exact shape of an RFC 3339 date-time with upper-case T and
// Z. time.Parse checks the ranges of the date and clock fields, but when its strict fast path
// fails it falls back to a lenient parser that also takes a one-digit hour, a comma before the
// fraction and offsets such as +24:00 or +08:60 (go.dev/issue/54580).
func isRFC3339(s []byte) bool {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(layout)+1 {
		return false
	}
	for i := range len(layout) {
		if c := layout[i]; c == 'd' && !isDigit(s[i]) || c != 'd' && s[i] != c {
			return false
		}
	}
	s = s[len(layout):]
	if s[0] == '.' {
		n := 1
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		if n == 1 {
			return false
		}
		s = s[n:]
	}
	if len(s) == 1 {
		return s[0] == 'Z'
	}
	return len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':' &&
		isDigit(s[1]) && isDigit(s[2]) && isDigit(s[4]) && isDigit(s[5]) &&
		string(s[1:3]) <= "23" && string(s[4:6]) <= "59"
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// checkEscapedStrings finds what fastjson lets through in strings that contain escapes: a raw
// control character before an escape (fastjson.Validate checks only the part of a string after
// its last escape), and a \u escape that is half of a UTF-16 surrogate pair (fastjson's parser
// keeps it as literal text: "\ud800" becomes 6 characters). It returns the reason and the byte
// offset, or "" and -1. raw must have passed fastjson.Validate.
func checkEscapedStrings(raw []byte) (Reason, int) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return "", -1 // fastjson.Validate checked every string whole
	}
	in := false // inside a string
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case !in:
			in = c == '"'
		case c == '"':
			in = false
		case c < 0x20:
			return ReasonNotJSON, i
		case c == '\\' && raw[i+1] != 'u':
			i++ // \\, \" and the other one-character escapes
		case c == '\\':
			switch r := hex4(raw[i+2 : i+6]); {
			case r >= 0xDC00 && r <= 0xDFFF:
				return ReasonNotUTF8, i // a low half first
			case r >= 0xD800 && r <= 0xDBFF:
				if len(raw) < i+12 || raw[i+6] != '\\' || raw[i+7] != 'u' {
					return ReasonNotUTF8, i
				}
				if lo := hex4(raw[i+8 : i+12]); lo < 0xDC00 || lo > 0xDFFF {
					return ReasonNotUTF8, i
				}
				i += 11
			default:
				i += 5
			}
		}
	}
	return "", -1
}

// hex4 decodes four hex digits, already checked by the JSON syntax check.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= 'a':
			c -= 'a' - 10
		case c >= 'A':
			c -= 'A' - 10
		default:
			c -= '0'
		}
		r = r<<4 | rune(c)
	}
	return r
}

// uint reads a non-negative integer field; def when absent.
func (r *reader) uint(field string, def, min, max uint64) uint64 {
	v := r.get(field)
	if v == nil {
		return def
	}
	if v.Type() != fastjson.TypeNumber {
		r.fail(ReasonWrongType, field, "is "+v.Type().String()+", want integer")
		return 0
	}
	n, err := v.Uint64()
	if err != nil || n < min || n > max {
		r.fail(ReasonBadValue, field, "want an integer in ["+strconv.FormatUint(min, 10)+", "+strconv.FormatUint(max, 10)+"], got "+v.String())
		return 0
	}
	return n
}

func (r *reader) money(field string) Money {
	v := r.get(field)
	if v == nil {
		r.fail(ReasonMissingField, field, "required")
		return 0
	}
	var text string
	switch v.Type() {
	case fastjson.TypeNumber:
		text = v.String() // fastjson keeps a number's source text: no float in between
	case fastjson.TypeString:
		text = string(v.GetStringBytes())
	default:
		r.fail(ReasonWrongType, field, "is "+v.Type().String()+", want number or decimal string")
		return 0
	}
	m, err := ParseMoney(text)
	switch {
	case err == errMoneyNegative:
		r.fail(ReasonNegativeAmount, field, text+" is negative")
	case err != nil:
		r.fail(ReasonBadAmount, field, strconv.Quote(text)+": "+err.Error())
	}
	return m
}

func (r *reader) currency(def string) string {
	c := r.shared("currency", false, 3)
	if r.err != nil {
		return ""
	}
	if c == "" {
		return def
	}
	if len(c) != 3 || !isUpper(c[0]) || !isUpper(c[1]) || !isUpper(c[2]) {
		r.fail(ReasonBadValue, "currency", strconv.Quote(c)+" is not an ISO 4217 code")
	}
	return c
}

func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

func (r *reader) viewer(e *Viewer) {
	action := r.shared("action", true, MaxFieldBytes) // a long action is unknown, not bad_value
	if r.err != nil {
		return
	}
	for a := ActionJoin; a <= ActionCount; a++ {
		if action == a.String() {
			e.Action = a
		}
	}
	if e.Action == 0 {
		r.fail(ReasonUnknownAction, "action", strconv.Quote(action)+" is not one of join|leave|heartbeat|engage|count")
		return
	}
	e.ViewerID = r.str("viewer_id", e.Action != ActionCount, MaxFieldBytes)
	e.SessionID = r.str("session_id", false, MaxFieldBytes)
	e.DeviceID = r.str("device_id", false, MaxFieldBytes)
	e.IP = r.str("ip", false, 64)
	if kind := r.shared("kind", false, 16); kind != "" {
		for k := EngageLike; k <= EngageFollow; k++ {
			if kind == k.String() {
				e.Kind = k
			}
		}
		if e.Kind == EngageNone {
			r.fail(ReasonBadValue, "kind", strconv.Quote(kind)+" is not one of like|comment|share|follow")
		}
	}
	if e.Action == ActionCount {
		if r.get("reported_viewers") == nil && r.err == nil {
			r.fail(ReasonMissingField, "reported_viewers", "required for action \"count\"")
			return
		}
		e.ReportedViewers = r.uint("reported_viewers", 0, 0, 1<<53)
	}
}

func (r *reader) order(e *Order, currency string) {
	e.OrderID = r.str("order_id", true, MaxFieldBytes)
	e.BuyerID = r.str("buyer_id", true, MaxFieldBytes)
	e.SKUID = r.shared("sku_id", false, MaxFieldBytes)
	e.Quantity = uint32(r.uint("quantity", 1, 1, 1_000_000))
	e.Amount = r.money("amount")
	e.Currency = r.currency(currency)
}

func (r *reader) refund(e *Refund, currency string) {
	e.RefundID = r.str("refund_id", true, MaxFieldBytes)
	e.OrderID = r.str("order_id", true, MaxFieldBytes)
	e.BuyerID = r.str("buyer_id", false, MaxFieldBytes)
	e.Amount = r.money("amount")
	e.Currency = r.currency(currency)
	e.Reason = r.shared("reason", false, MaxFieldBytes)
}

// interner keeps one copy of each repeated string value. It is bounded: when full it starts
// over, so a stream of distinct values costs a copy each (as without it) and no more memory.
type interner struct{ m map[string]string }

const maxInterned = 1 << 14

func (in *interner) get(b []byte) string {
	if s, ok := in.m[string(b)]; ok { // the conversion in a map index does not allocate
		return s
	}
	if len(in.m) >= maxInterned {
		clear(in.m)
	}
	s := string(b)
	in.m[s] = s
	return s
}
