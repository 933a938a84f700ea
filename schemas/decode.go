package schemas

import (
	"hash/maphash"
	"math"
	"strconv"
	"time"
	"unsafe"
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

// Decoder decodes messages into events, strictly. It reuses its buffers: one Decoder per goroutine.
type Decoder struct {
	cfg    DecoderConfig
	sc     scanner
	buf    []byte // scratch: an escaped string value, unescaped
	intern interner
}

// NewDecoder returns a decoder for cfg.
func NewDecoder(cfg DecoderConfig) *Decoder {
	return &Decoder{cfg: cfg.withDefaults(), intern: interner{m: make(map[string]string), seed: maphash.MakeSeed()}}
}

// Config returns the effective configuration, defaults filled in.
func (d *Decoder) Config() DecoderConfig { return d.cfg }

// Decode decodes raw as an event of kind into ev, checking event time against now. It returns an
// *InvalidError when raw breaks the contract; ev is then partly filled and must not be used.
// Strings in ev do not alias raw. The event's ids and address share one allocation: whoever
// keeps one of them for long should copy it, not to keep the others alive too.
func (d *Decoder) Decode(kind Kind, raw []byte, now time.Time, ev *Event) error {
	*ev = Event{Kind: kind}
	if len(raw) > d.cfg.MaxBytes {
		return &InvalidError{Kind: kind, Reason: ReasonTooLarge,
			Detail: strconv.Itoa(len(raw)) + " bytes, limit " + strconv.Itoa(d.cfg.MaxBytes)}
	}
	top, err := d.sc.scan(kind, raw)
	d.sc.raw = nil // not kept past the call
	if err != nil {
		return err
	}
	if top != jsonObject {
		return &InvalidError{Kind: kind, Reason: ReasonNotObject, Detail: "message is JSON " + top.String() + ", want object"}
	}
	r := reader{kind: kind, raw: raw, fields: &d.sc.fields, buf: &d.buf, intern: &d.intern}
	r.arena = make([]byte, 0, r.ownedLen(kind))
	h := ev.Header()
	h.EventID = r.str(fEventID, true, MaxIDBytes)
	h.TS = r.ts(now, d.cfg)
	h.StreamID = r.shared(fStreamID, true, MaxFieldBytes)
	h.KOLID = r.shared(fKOLID, true, MaxFieldBytes)
	h.BrandID = r.shared(fBrandID, false, MaxFieldBytes)
	h.Platform = r.shared(fPlatform, false, MaxFieldBytes)
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

// reader extracts fields from a scanned message and keeps the first contract violation.
type reader struct {
	kind   Kind
	raw    []byte
	fields *[numFields]span
	buf    *[]byte
	err    *InvalidError
	intern *interner
	// arena holds the event's own strings (ids and address): one allocation per event, sized
	// for them all, so appending never moves what the strings point to.
	arena []byte
}

// ownedFields are the fields whose values differ from event to event, by kind: copied into the
// event's arena, not interned.
var ownedFields = [...][]field{
	KindViewer: {fEventID, fViewerID, fSessionID, fDeviceID, fIP},
	KindOrder:  {fEventID, fOrderID, fBuyerID},
	KindRefund: {fEventID, fRefundID, fOrderID, fBuyerID},
}

// ownedLen bounds the bytes of kind's owned strings: their text in the message, which
// unescaping never lengthens.
func (r *reader) ownedLen(kind Kind) int {
	n := 0
	if int(kind) < len(ownedFields) {
		for _, f := range ownedFields[kind] {
			if v := &r.fields[f]; v.typ == jsonString {
				n += v.end - v.start
			}
		}
	}
	return n
}

func (r *reader) fail(reason Reason, f field, detail string) {
	if r.err == nil {
		r.err = &InvalidError{Kind: r.kind, Reason: reason, Field: f.String(), Detail: detail}
	}
}

// get returns f's value; nil when absent or null (null means absent), or after a violation.
func (r *reader) get(f field) *span {
	if r.err != nil {
		return nil
	}
	v := &r.fields[f]
	if v.typ == jsonAbsent || v.typ == jsonNull {
		return nil
	}
	return v
}

// text returns the text of v: a number's, or a string's, unescaped (then in the reader's
// scratch buffer, valid until the next call).
func (r *reader) text(v *span) []byte {
	b := r.raw[v.start:v.end]
	if v.escaped {
		*r.buf = unescape((*r.buf)[:0], b)
		b = *r.buf
	}
	return b
}

// str returns f's string value, copied into the event's arena.
func (r *reader) str(f field, required bool, maxLen int) string {
	b, ok := r.strBytes(f, required, maxLen)
	if !ok || len(b) == 0 {
		return ""
	}
	n := len(r.arena)
	r.arena = append(r.arena, b...)
	return unsafe.String(&r.arena[n], len(b)) // the arena's bytes are never written again
}

// shared is str for fields whose values repeat from event to event (stream, KOL, brand,
// platform, SKU…): one interned copy each, so decoding them allocates nothing.
func (r *reader) shared(f field, required bool, maxLen int) string {
	b, ok := r.strBytes(f, required, maxLen)
	if !ok {
		return ""
	}
	return r.intern.get(b)
}

// strBytes returns f's string value, unescaped (it aliases the message or the scratch buffer),
// and false when it is absent or breaks the contract.
func (r *reader) strBytes(f field, required bool, maxLen int) ([]byte, bool) {
	v := r.get(f)
	if v == nil {
		if required && r.err == nil {
			r.fail(ReasonMissingField, f, "required")
		}
		return nil, false
	}
	if v.typ != jsonString {
		r.fail(ReasonWrongType, f, "is "+v.typ.String()+", want string")
		return nil, false
	}
	b := r.text(v)
	if len(b) == 0 && required {
		r.fail(ReasonMissingField, f, "required, got an empty string")
		return nil, false
	}
	if len(b) > maxLen {
		r.fail(ReasonBadValue, f, strconv.Itoa(len(b))+" bytes, limit "+strconv.Itoa(maxLen))
		return nil, false
	}
	return b, true
}

func (r *reader) ts(now time.Time, cfg DecoderConfig) int64 {
	const field = fTS
	v := r.get(field)
	if v == nil {
		r.fail(ReasonMissingField, field, "required")
		return 0
	}
	var ms int64
	switch v.typ {
	case jsonString:
		s := r.text(v)
		if !isRFC3339(s) {
			r.fail(ReasonBadTimestamp, field, "not RFC 3339: "+strconv.Quote(string(s))+
				" (want 2006-01-02T15:04:05Z, optional .fraction, Z or ±hh:mm offset)")
			return 0
		}
		var ok bool
		if ms, ok = rfc3339Millis(s); !ok { // time.Parse says why
			t, err := time.Parse(time.RFC3339Nano, string(s))
			if err != nil {
				r.fail(ReasonBadTimestamp, field, "not RFC 3339: "+err.Error())
				return 0
			}
			ms = t.UnixMilli()
		}
	case jsonNumber:
		n, ok := parseInt(r.text(v))
		if !ok {
			r.fail(ReasonBadTimestamp, field, "not integer Unix milliseconds")
			return 0
		}
		ms = n
	default:
		r.fail(ReasonWrongType, field, "is "+v.typ.String()+", want RFC 3339 string or Unix milliseconds")
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

// uint reads a non-negative integer field; def when absent.
func (r *reader) uint(f field, def, min, max uint64) uint64 {
	v := r.get(f)
	if v == nil {
		return def
	}
	if v.typ != jsonNumber {
		r.fail(ReasonWrongType, f, "is "+v.typ.String()+", want integer")
		return 0
	}
	text := r.text(v)
	n, ok := parseUint(text)
	if !ok || n < min || n > max {
		r.fail(ReasonBadValue, f, "want an integer in ["+strconv.FormatUint(min, 10)+", "+strconv.FormatUint(max, 10)+"], got "+string(text))
		return 0
	}
	return n
}

// parseUint reads a number's text as strconv.ParseUint does: false for a sign, a fraction, an
// exponent or more than 64 bits.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseInt reads a number's text as strconv.ParseInt does.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	n, ok := parseUint(b)
	switch {
	case !ok:
		return 0, false
	case neg && n <= 1<<63:
		return int64(-n), true // -(1<<63) wraps to math.MinInt64, as it should
	case !neg && n <= math.MaxInt64:
		return int64(n), true
	}
	return 0, false
}

func (r *reader) money(f field) Money {
	v := r.get(f)
	if v == nil {
		r.fail(ReasonMissingField, f, "required")
		return 0
	}
	if v.typ != jsonNumber && v.typ != jsonString { // a number's text is kept: no float in between
		r.fail(ReasonWrongType, f, "is "+v.typ.String()+", want number or decimal string")
		return 0
	}
	text := string(r.text(v))
	m, err := ParseMoney(text)
	switch {
	case err == errMoneyNegative:
		r.fail(ReasonNegativeAmount, f, text+" is negative")
	case err != nil:
		r.fail(ReasonBadAmount, f, strconv.Quote(text)+": "+err.Error())
	}
	return m
}

func (r *reader) currency(def string) string {
	c := r.shared(fCurrency, false, 3)
	if r.err != nil {
		return ""
	}
	if c == "" {
		return def
	}
	if len(c) != 3 || !isUpper(c[0]) || !isUpper(c[1]) || !isUpper(c[2]) {
		r.fail(ReasonBadValue, fCurrency, strconv.Quote(c)+" is not an ISO 4217 code")
	}
	return c
}

func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

func (r *reader) viewer(e *Viewer) {
	action, ok := r.strBytes(fAction, true, MaxFieldBytes) // a long action is unknown, not bad_value
	if !ok {
		return
	}
	for a := ActionJoin; a <= ActionCount; a++ {
		if string(action) == a.String() {
			e.Action = a
		}
	}
	if e.Action == 0 {
		r.fail(ReasonUnknownAction, fAction, strconv.Quote(string(action))+" is not one of join|leave|heartbeat|engage|count")
		return
	}
	e.ViewerID = r.str(fViewerID, e.Action != ActionCount, MaxFieldBytes)
	e.SessionID = r.str(fSessionID, false, MaxFieldBytes)
	e.DeviceID = r.str(fDeviceID, false, MaxFieldBytes)
	e.IP = r.str(fIP, false, 64)
	if kind, ok := r.strBytes(fKind, false, 16); ok && len(kind) > 0 {
		for k := EngageLike; k <= EngageFollow; k++ {
			if string(kind) == k.String() {
				e.Kind = k
			}
		}
		if e.Kind == EngageNone {
			r.fail(ReasonBadValue, fKind, strconv.Quote(string(kind))+" is not one of like|comment|share|follow")
		}
	}
	if e.Action == ActionCount {
		if r.get(fReportedViewers) == nil && r.err == nil {
			r.fail(ReasonMissingField, fReportedViewers, "required for action \"count\"")
			return
		}
		e.ReportedViewers = r.uint(fReportedViewers, 0, 0, 1<<53)
	}
}

func (r *reader) order(e *Order, currency string) {
	e.OrderID = r.str(fOrderID, true, MaxFieldBytes)
	e.BuyerID = r.str(fBuyerID, true, MaxFieldBytes)
	e.SKUID = r.shared(fSKUID, false, MaxFieldBytes)
	e.Quantity = uint32(r.uint(fQuantity, 1, 1, 1_000_000))
	e.Amount = r.money(fAmount)
	e.Currency = r.currency(currency)
}

func (r *reader) refund(e *Refund, currency string) {
	e.RefundID = r.str(fRefundID, true, MaxFieldBytes)
	e.OrderID = r.str(fOrderID, true, MaxFieldBytes)
	e.BuyerID = r.str(fBuyerID, false, MaxFieldBytes)
	e.Amount = r.money(fAmount)
	e.Currency = r.currency(currency)
	e.Reason = r.shared(fReason, false, MaxFieldBytes)
}

// interner keeps one copy of each repeated string value. It is bounded: when full it starts
// over, so a stream of distinct values costs a copy each (as without it) and no more memory.
// interner returns one string per distinct value of the fields that repeat across events (stream,
// KOL, brand, platform), so that events share them instead of each allocating its own. A small
// direct-mapped cache in front of the map answers most look-ups from a cache line or two: those
// values are few, and a map look-up was ~5 % of the hot path.
type interner struct {
	m     map[string]string
	seed  maphash.Seed
	cache [internCache]string
}

const (
	maxInterned = 1 << 14
	internCache = 1 << 10
)

func (in *interner) get(b []byte) string {
	slot := &in.cache[maphash.Bytes(in.seed, b)&(internCache-1)]
	if *slot == string(b) { // the comparison does not allocate
		return *slot
	}
	s, ok := in.m[string(b)] // nor does the conversion in a map index
	if !ok {
		if len(in.m) >= maxInterned {
			clear(in.m)
		}
		s = string(b)
		in.m[s] = s
	}
	*slot = s
	return s
}
