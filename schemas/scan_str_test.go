package schemas

import (
	"strings"
	"testing"
)

// skipPlainBytes is skipPlain one byte at a time, as str read strings before the word-at-a-time
// scan: the reference the tests below hold it to.
func skipPlainBytes(raw []byte, i int) int {
	for i < len(raw) && plain[raw[i]] {
		i++
	}
	return i
}

// strBytewise is str as it was before the word-at-a-time scan: one function, bytewise.
func (s *scanner) strBytewise() (start, end int, escaped bool) {
	raw, i := s.raw, s.i
	start = i
	ctl := false
	for {
		i = skipPlainBytes(raw, i)
		if i >= len(raw) {
			s.i = i
			s.fail("unterminated string")
			return
		}
		switch c := raw[i]; {
		case c == '"':
			s.i = i + 1
			if ctl {
				s.fail("raw control character in a string")
			}
			return start, i, escaped
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
		default:
			s.nonASCII = true
			i++
		}
	}
}

// strResult is what reading a string leaves: its extent and the scanner's state.
type strResult struct {
	start, end int
	escaped    bool
	i          int
	syntax     string
	syntaxAt   int
	probAt     int
	probReason Reason
	nonASCII   bool
}

func readStr(raw []byte, i int, bytewise bool) strResult {
	s := scanner{raw: raw, i: i, probAt: -1}
	var r strResult
	if bytewise {
		r.start, r.end, r.escaped = s.strBytewise()
	} else {
		r.start, r.end, r.escaped = s.str()
	}
	r.i, r.syntax, r.syntaxAt, r.probAt, r.probReason, r.nonASCII = s.i, s.syntax, s.syntaxAt, s.probAt, s.probReason, s.nonASCII
	return r
}

// checkStr holds skipPlain and str to their bytewise references from every start in raw.
func checkStr(t *testing.T, raw []byte) {
	t.Helper()
	for i := 0; i <= len(raw); i++ {
		checkStrAt(t, raw, i)
	}
}

// checkStrAt is checkStr from start i.
func checkStrAt(t *testing.T, raw []byte, i int) {
	t.Helper()
	if got, want := skipPlain(raw, i), skipPlainBytes(raw, i); got != want {
		t.Fatalf("skipPlain(%q, %d) = %d, want %d", raw, i, got, want)
	}
	if got, want := readStr(raw, i, false), readStr(raw, i, true); got != want {
		t.Fatalf("str of %q from %d:\n got %+v\nwant %+v", raw, i, got, want)
	}
}

// TestStrWordBoundaries places each byte that stops the plain scan, and a few escapes and
// multi-byte characters, at every position of strings of 0 to 20 plain bytes, so that it falls
// on every position of a word and in the bytewise tail, then ends the string in each way.
func TestStrWordBoundaries(t *testing.T) {
	stops := []string{`"`, `\`, `\n`, `\"`, `\u00e9`, `\ud83d\ude00`, `\ud83d`, "\x00", "\x1f", " ", "\x7f", "\x80", "\xff", "é", "😀"}
	ends := []string{``, `"`, `"}`, `"` + strings.Repeat(" ", 16) + `}`, "\x01\"}"}
	for n := 0; n <= 20; n++ {
		plainRun := strings.Repeat("a", n)
		for pos := 0; pos <= n; pos++ {
			for _, stop := range stops {
				for _, end := range ends {
					checkStr(t, []byte(`"`+plainRun[:pos]+stop+plainRun[pos:]+end))
				}
			}
		}
		for _, end := range ends {
			checkStr(t, []byte(`"`+plainRun+end))
		}
	}
}

// TestStrEveryByte places each byte value at every position of a string of 20 plain bytes.
func TestStrEveryByte(t *testing.T) {
	raw := []byte(`"` + strings.Repeat("a", 20) + `"`)
	for c := range 256 {
		for pos := 1; pos <= 20; pos++ {
			raw[pos] = byte(c)
			checkStr(t, raw)
			raw[pos] = 'a'
		}
	}
}

// FuzzStr holds skipPlain and str to their bytewise references on arbitrary bytes.
func FuzzStr(f *testing.F) {
	for _, seed := range []string{
		`"event_id":"v-2f6c1a9e-4d7b-4c1e-9a0b-000000000001","ts":"2025-06-01T19:59:58.123+08:00"}`,
		`"abcdefg\"hijklmnop\\qrstuv\u00e9wx\ud83d\ude00yz"`, "\"abcdefgh\x1fijklmnop\x80\xffq\"",
		`"12345678\u`, "\"1234567\x7f12345678é\"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// From the first and last starts only: from all of them, the check is quadratic and
		// long inputs stall the fuzzer.
		for i := 0; i <= len(raw); i++ {
			if i == 16 {
				i = max(i, len(raw)-16)
			}
			checkStrAt(t, raw, i)
		}
	})
}
