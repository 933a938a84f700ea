package schemas

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// The strict JSON reader of Decode: one pass over the message checks the whole of it against
// RFC 8259 and notes where the contract's fields are, without building a tree. It takes over the
// rules of the fastjson-based decoder it replaced, reasons included (TestDecodeInvalid and the
// contract corpus pin them):
//   - nesting deeper than 300 levels (maxDepth, the message object is level 1) is not_json;
//   - a raw control character in a string is not_json; a \u escape that is half of a UTF-16
//     surrogate pair is not_utf8, unless the message is not_json otherwise: a syntax error
//     anywhere, a raw control character ahead of the escape, or one after it that follows the
//     last escape of its string (the part fastjson's validator checked);
//   - a key given twice counts once, its first value (an escaped spelling of a key is the key);
//   - a number is kept as its text, so money and integers are read exactly.

// maxDepth bounds nesting; fastjson.MaxDepth was the same.
const maxDepth = 300

// jsonType is the type of a JSON value; jsonAbsent for a field the message does not have.
type jsonType uint8

const (
	jsonAbsent jsonType = iota
	jsonNull
	jsonString
	jsonNumber
	jsonTrue
	jsonFalse
	jsonObject
	jsonArray
)

var jsonTypeNames = [...]string{"absent", "null", "string", "number", "true", "false", "object", "array"}

func (t jsonType) String() string { return jsonTypeNames[t] }

// field numbers the contract's fields, for the table of the values a message gives them.
type field uint8

const (
	fEventID field = iota
	fTS
	fStreamID
	fKOLID
	fBrandID
	fPlatform
	fAction
	fViewerID
	fSessionID
	fDeviceID
	fIP
	fKind
	fReportedViewers
	fOrderID
	fBuyerID
	fSKUID
	fQuantity
	fAmount
	fCurrency
	fRefundID
	fReason
	numFields
	fUnknown = numFields
)

var fieldNames = [numFields]string{
	"event_id", "ts", "stream_id", "kol_id", "brand_id", "platform", "action", "viewer_id",
	"session_id", "device_id", "ip", "kind", "reported_viewers", "order_id", "buyer_id", "sku_id",
	"quantity", "amount", "currency", "refund_id", "reason",
}

func (f field) String() string { return fieldNames[f] }

// fieldOf returns the field named key, or fUnknown.
func fieldOf(key []byte) field {
	switch string(key) { // a switch on a converted []byte does not allocate
	case "event_id":
		return fEventID
	case "ts":
		return fTS
	case "stream_id":
		return fStreamID
	case "kol_id":
		return fKOLID
	case "brand_id":
		return fBrandID
	case "platform":
		return fPlatform
	case "action":
		return fAction
	case "viewer_id":
		return fViewerID
	case "session_id":
		return fSessionID
	case "device_id":
		return fDeviceID
	case "ip":
		return fIP
	case "kind":
		return fKind
	case "reported_viewers":
		return fReportedViewers
	case "order_id":
		return fOrderID
	case "buyer_id":
		return fBuyerID
	case "sku_id":
		return fSKUID
	case "quantity":
		return fQuantity
	case "amount":
		return fAmount
	case "currency":
		return fCurrency
	case "refund_id":
		return fRefundID
	case "reason":
		return fReason
	}
	return fUnknown
}

// span is where a top-level member's value is in the message: for a string the text between
// the quotes (still escaped when escaped is set), for a number its text.
type span struct {
	typ        jsonType
	escaped    bool
	start, end int
}

// scanner reads one message. Its zero value is ready; it is reused from message to message.
type scanner struct {
	raw []byte
	i   int

	syntax   string // the first syntax error, "" if none
	syntaxAt int

	// The first raw control character or lone surrogate escape, which decide the reason when
	// the syntax is otherwise valid (see the rules above); probAt is -1 when there is none.
	probAt     int
	probReason Reason

	nonASCII bool // a byte ≥ 0x80 was seen: the message's UTF-8 is checked at the end

	fields [numFields]span
	key    []byte // scratch: an escaped key, unescaped
}

// plain marks the bytes a string scan passes over without a second look.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipPlain returns the index of the first byte at or after i that plain does not mark, or
// len(raw). While 8 bytes remain it tests them as one word (most of a message is ids, names and
// timestamps, runs of 6 to 30 plain bytes); it gives the same index as the bytewise loop after
// it, which scan_str_test.go holds it to.
func skipPlain(raw []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; len(raw)-i >= 8; i += 8 {
		x := binary.LittleEndian.Uint64(raw[i:])
		quote, backslash := x^('"'*ones), x^('\\'*ones) // zero bytes where x has a quote or a backslash
		// The high bit of a byte of stop is set where x has a quote, a backslash, a byte < 0x20 or
		// one ≥ 0x80 (x - 0x20 flags 0xa0..0xff; quote - 1 flags 0x80..0x9f, which xor 0x22 maps to
		// 0xa0..0xbf), and at no plain byte, but for borrows: they may set it above such a byte,
		// never below, so the lowest set bit is exact.
		stop := ((quote - ones) | (backslash - ones) | (x - 0x20*ones)) & highs
		if stop != 0 {
			return i + bits.TrailingZeros64(stop)/8
		}
	}
	for i < len(raw) && plain[raw[i]] {
		i++
	}
	return i
}

// scan reads raw. It returns nil and the type of the top-level value, the fields noted when it
// is an object; or the message's dead-letter error (not_utf8 or not_json).
func (s *scanner) scan(kind Kind, raw []byte) (jsonType, *InvalidError) {
	s.raw, s.i, s.syntax, s.probAt, s.nonASCII = raw, 0, "", -1, false
	s.fields = [numFields]span{}
	s.skipWS()
	var top jsonType
	if s.i < len(raw) && raw[s.i] == '{' {
		top = jsonObject
		s.object(1, true)
	} else {
		top, _, _, _ = s.value(1)
	}
	if s.syntax == "" {
		s.skipWS()
		if s.i < len(raw) {
			s.fail("unexpected " + quoteByte(raw[s.i]) + " after the JSON value")
		}
	}
	if (s.nonASCII || s.syntax != "") && !utf8.Valid(raw) { // a syntax error stops the scan short
		return 0, &InvalidError{Kind: kind, Reason: ReasonNotUTF8, Detail: "message is not valid UTF-8"}
	}
	switch {
	case s.syntax != "":
		return 0, &InvalidError{Kind: kind, Reason: ReasonNotJSON, Detail: s.syntax + " at byte " + strconv.Itoa(s.syntaxAt)}
	case s.probAt >= 0 && s.probReason == ReasonNotUTF8:
		return 0, &InvalidError{Kind: kind, Reason: ReasonNotUTF8,
			Detail: "escape " + strconv.Quote(string(raw[s.probAt:s.probAt+6])) + " at byte " + strconv.Itoa(s.probAt) + " is half of a UTF-16 surrogate pair"}
	case s.probAt >= 0:
		return 0, &InvalidError{Kind: kind, Reason: ReasonNotJSON,
			Detail: "raw control character " + strconv.QuoteRune(rune(raw[s.probAt])) + " in a string at byte " + strconv.Itoa(s.probAt)}
	}
	return top, nil
}

func quoteByte(c byte) string {
	if c < utf8.RuneSelf {
		return strconv.QuoteRune(rune(c))
	}
	return "byte 0x" + strconv.FormatUint(uint64(c), 16)
}

// fail records a syntax error at the current position; the scan then unwinds.
func (s *scanner) fail(msg string) {
	if s.syntax == "" {
		s.syntax, s.syntaxAt = msg, s.i
	}
}

// skipWS skips whitespace. Messages seldom have any: every byte above ' ' ends it at one test.
func (s *scanner) skipWS() {
	for s.i < len(s.raw) && s.raw[s.i] <= ' ' {
		switch s.raw[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value reads the value at s.i, at nesting level depth, and returns its type and extent (see
// span). On a syntax error, s.syntax is set and the rest is meaningless.
func (s *scanner) value(depth int) (t jsonType, start, end int, escaped bool) {
	if depth > maxDepth {
		s.fail("nesting deeper than " + strconv.Itoa(maxDepth) + " levels")
		return
	}
	if s.i >= len(s.raw) {
		s.fail("unexpected end of message")
		return
	}
	switch c := s.raw[s.i]; c {
	case '{':
		s.object(depth, false)
		return jsonObject, 0, 0, false
	case '[':
		s.array(depth)
		return jsonArray, 0, 0, false
	case '"':
		s.i++
		start, end, escaped = s.str()
		return jsonString, start, end, escaped
	case 't':
		s.literal("true")
		return jsonTrue, 0, 0, false
	case 'f':
		s.literal("false")
		return jsonFalse, 0, 0, false
	case 'n':
		s.literal("null")
		return jsonNull, 0, 0, false
	default:
		start = s.i
		s.number()
		return jsonNumber, start, s.i, false
	}
}

func (s *scanner) literal(word string) {
	if len(s.raw)-s.i < len(word) || string(s.raw[s.i:s.i+len(word)]) != word {
		s.fail("unexpected " + quoteByte(s.raw[s.i]))
		return
	}
	s.i += len(word)
}

// object reads an object from its '{'. The members of the top-level one (top) are noted in
// s.fields, the first of each name.
func (s *scanner) object(depth int, top bool) {
	s.i++ // '{'
	s.skipWS()
	if s.i < len(s.raw) && s.raw[s.i] == '}' {
		s.i++
		return
	}
	for {
		s.skipWS()
		if s.i >= len(s.raw) || s.raw[s.i] != '"' {
			s.fail("want a '\"' opening an object key")
			return
		}
		s.i++
		ks, ke, kesc := s.str()
		if s.syntax != "" {
			return
		}
		s.skipWS()
		if s.i >= len(s.raw) || s.raw[s.i] != ':' {
			s.fail("want ':' after an object key")
			return
		}
		s.i++
		s.skipWS()
		t, vs, ve, vesc := s.value(depth + 1)
		if s.syntax != "" {
			return
		}
		if top {
			key := s.raw[ks:ke]
			if kesc {
				s.key = unescape(s.key[:0], key)
				key = s.key
			}
			if f := fieldOf(key); f != fUnknown && s.fields[f].typ == jsonAbsent {
				s.fields[f] = span{typ: t, escaped: vesc, start: vs, end: ve}
			}
		}
		s.skipWS()
		if s.i >= len(s.raw) {
			s.fail("unexpected end of object")
			return
		}
		switch s.raw[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return
		default:
			s.fail("want ',' or '}' after an object value")
			return
		}
	}
}

func (s *scanner) array(depth int) {
	s.i++ // '['
	s.skipWS()
	if s.i < len(s.raw) && s.raw[s.i] == ']' {
		s.i++
		return
	}
	for {
		s.skipWS()
		s.value(depth + 1)
		if s.syntax != "" {
			return
		}
		s.skipWS()
		if s.i >= len(s.raw) {
			s.fail("unexpected end of array")
			return
		}
		switch s.raw[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return
		default:
			s.fail("want ',' or ']' after an array value")
			return
		}
	}
}

// str reads a string from after its opening quote and returns the extent of its text.
func (s *scanner) str() (start, end int, escaped bool) {
	start = s.i
	// Most strings are plain bytes to the closing quote: this path makes no call to spill for.
	if i := skipPlain(s.raw, start); i < len(s.raw) && s.raw[i] == '"' {
		s.i = i + 1
		return start, i, false
	}
	end, escaped = s.strRest(start)
	return start, end, escaped
}

// strRest is str for a string that has an escape, a byte < 0x20 or ≥ 0x80, or no end.
func (s *scanner) strRest(start int) (end int, escaped bool) {
	raw, i := s.raw, start
	ctl := false // a raw control character since the last escape
	for {
		i = skipPlain(raw, i)
		if i >= len(raw) {
			s.i = i
			s.fail("unterminated string")
			return
		}
		switch c := raw[i]; {
		case c == '"':
			s.i = i + 1
			if ctl { // after the last escape: a plain syntax error, whatever comes first
				s.fail("raw control character in a string")
			}
			return i, escaped
		case c == '\\':
			escaped, ctl = true, false
			s.i = i
			if i = s.escape(i); s.syntax != "" {
				return
			}
		case c < 0x20:
			ctl = true
			s.problem(i, ReasonNotJSON)
			i++
		default: // ≥ 0x80
			s.nonASCII = true
			i++
		}
	}
}

// escape checks the escape at i and returns the index after it.
func (s *scanner) escape(i int) int {
	raw := s.raw
	if i+1 >= len(raw) {
		s.fail("unterminated string")
		return i
	}
	switch raw[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2
	case 'u':
	default:
		s.fail("unknown escape " + strconv.Quote(string(raw[i:i+2])))
		return i
	}
	r, ok := hex4(raw, i+2)
	if !ok {
		s.fail("want four hex digits after \\u")
		return i
	}
	switch {
	case r >= 0xDC00 && r <= 0xDFFF: // a low half first
		s.problem(i, ReasonNotUTF8)
	case r >= 0xD800 && r <= 0xDBFF:
		if i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
			if lo, ok := hex4(raw, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
				return i + 12
			}
		}
		s.problem(i, ReasonNotUTF8) // what follows is read as an escape of its own
	}
	return i + 6
}

func (s *scanner) problem(i int, reason Reason) {
	if s.probAt < 0 {
		s.probAt, s.probReason = i, reason
	}
}

// hex4 decodes the four hex digits at raw[i:].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() {
	raw, i := s.raw, s.i
	if i < len(raw) && raw[i] == '-' {
		i++
	}
	switch {
	case i < len(raw) && raw[i] == '0':
		i++
	case i < len(raw) && raw[i] >= '1' && raw[i] <= '9':
		i = digits(raw, i)
	default:
		s.i = i
		if i < len(raw) {
			s.fail("unexpected " + quoteByte(raw[i]))
		} else {
			s.fail("unexpected end of message")
		}
		return
	}
	if i < len(raw) && raw[i] == '.' {
		j := digits(raw, i+1)
		if j == i+1 {
			s.i = j
			s.fail("want a digit after the decimal point")
			return
		}
		i = j
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		j := digits(raw, i)
		if j == i {
			s.i = j
			s.fail("want a digit in the exponent")
			return
		}
		i = j
	}
	s.i = i
}

func digits(raw []byte, i int) int {
	for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
		i++
	}
	return i
}

// unescape appends the text of a string whose escapes the scanner accepted (valid, surrogates
// paired) to dst.
func unescape(dst, text []byte) []byte {
	for i := 0; i < len(text); {
		c := text[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch text[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(text, i+2)
			i += 6
			if r >= 0xD800 && r <= 0xDBFF {
				lo, _ := hex4(text, i+2)
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, text[i+1])
		}
		i += 2
	}
	return dst
}
