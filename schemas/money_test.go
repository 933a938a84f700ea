package schemas

import (
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestParseMoney(t *testing.T) {
	f := func(input string, want Money, wantErr error) {
		t.Helper()
		got, err := ParseMoney(input)
		if err != wantErr || got != want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d, %v", input, got, err, want, wantErr)
		}
	}
	ok := func(input string, want Money) { t.Helper(); f(input, want, nil) }
	syntax := func(input string) { t.Helper(); f(input, 0, errMoneySyntax) }

	ok("0", 0)
	ok("-0", 0)
	ok("0.00", 0)
	ok("-0.00", 0)
	ok("000", 0)
	ok("0e5", 0)
	ok("-0e5", 0)
	ok("0.000000", 0)
	ok("1", 100)
	ok("12", 1200)
	ok("12.3", 1230)
	ok("12.30", 1230)
	ok("12.34", 1234)
	ok("00012.50", 1250)
	ok("0.01", 1)
	ok("0.10", 10)
	ok("1.000", 100) // extra zero digits are fine
	ok("1.2300000000", 123)
	ok("1e2", 10000)
	ok("1E2", 10000)
	ok("1e+2", 10000)
	ok("1e-2", 1)
	ok("1e-0", 100)
	ok("1e002", 10000)
	ok("1.5e2", 15000)
	ok("1.23e1", 1230)
	ok("1.234e1", 1234) // 12.34: the exponent brings the third digit back above the cent
	ok("1234e-2", 1234)
	ok("123400e-4", 1234)
	ok("0.0123e2", 123)
	ok("1e9", MaxMoney)
	ok("1000000000", MaxMoney)
	ok("1000000000.00", MaxMoney)
	ok("999999999.99", MaxMoney-1)
	ok("0000000000000000000000000000000012.34", 1234)
	ok("1"+strings.Repeat("0", 30)+"e-30", 100)

	f("1.005", 0, errMoneyPrecision)
	f("0.001", 0, errMoneyPrecision)
	f("1.2345e1", 0, errMoneyPrecision)
	f("1e-3", 0, errMoneyPrecision)
	f("1e-30", 0, errMoneyPrecision)
	f("0.0000000000000000000000000000001", 0, errMoneyPrecision)
	f("1000000000.001", 0, errMoneyPrecision) // precision is checked before range

	f("1000000000.01", 0, errMoneyRange)
	f("12345678901.23", 0, errMoneyRange)
	f("1e10", 0, errMoneyRange)
	f("1e30", 0, errMoneyRange)
	f("99999999999999999999999999999999999999", 0, errMoneyRange)

	f("-1", 0, errMoneyNegative)
	f("-0.01", 0, errMoneyNegative)
	f("-12.34", 0, errMoneyNegative)
	f("-1.005", 0, errMoneyNegative)
	f("-1e30", 0, errMoneyNegative)

	syntax("")
	syntax("-")
	syntax("--1") // malformed, not negative
	syntax("-+1")
	syntax("+1")
	syntax(".5")
	syntax("5.")
	syntax("-.5")
	syntax("1.2.3")
	syntax("1e")
	syntax("1e+")
	syntax("e2")
	syntax("1e2.5")
	syntax("1e31") // exponents are limited to ±30
	syntax("1e-31")
	syntax("0e31")
	syntax("abc")
	syntax("NaN")
	syntax("Inf")
	syntax("-Inf")
	syntax("0x10")
	syntax("1_000")
	syntax("1,000.00")
	syntax(" 1")
	syntax("1 ")
	syntax("１２") // full-width digits
	syntax("12.34 CNY")
}

// ParseMoney agrees with exact rational arithmetic on every decimal it accepts, and rejects
// exactly the decimals that are sub-cent, negative or out of range.
func TestParseMoneyAgreesWithBigRat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	for range 20000 {
		s := digits(1 + rng.IntN(12))
		if rng.IntN(2) == 0 {
			s += "." + digits(1+rng.IntN(5))
		}
		if rng.IntN(3) == 0 {
			s += "e" + []string{"", "+", "-"}[rng.IntN(3)] + digits(1)
		}
		if rng.IntN(5) == 0 {
			s = "-" + s
		}
		checkMoneyAgainstRat(t, s)
	}
}

var decimalSyntax = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

func checkMoneyAgainstRat(t *testing.T, s string) {
	t.Helper()
	got, err := ParseMoney(s)
	if !decimalSyntax.MatchString(s) {
		if err != errMoneySyntax {
			t.Fatalf("ParseMoney(%q) = %d, %v; want a syntax error", s, got, err)
		}
		return
	}
	if _, e, found := strings.Cut(strings.ToLower(s), "e"); found {
		if n, aerr := strconv.Atoi(e); aerr != nil || n < -30 || n > 30 {
			if err != errMoneySyntax {
				t.Fatalf("ParseMoney(%q) = %d, %v; want a syntax error (exponent beyond ±30)", s, got, err)
			}
			return
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("big.Rat cannot parse %q", s)
	}
	cents := new(big.Rat).Mul(r, big.NewRat(100, 1))
	switch {
	case r.Sign() < 0:
		if err != errMoneyNegative {
			t.Fatalf("ParseMoney(%q) = %d, %v; want negative", s, got, err)
		}
	case !cents.IsInt():
		if err != errMoneyPrecision {
			t.Fatalf("ParseMoney(%q) = %d, %v; want a precision error", s, got, err)
		}
	case cents.Cmp(new(big.Rat).SetInt64(int64(MaxMoney))) > 0:
		if err != errMoneyRange {
			t.Fatalf("ParseMoney(%q) = %d, %v; want a range error", s, got, err)
		}
	default:
		if err != nil || cents.Num().Int64() != int64(got) {
			t.Fatalf("ParseMoney(%q) = %d, %v; want %s cents", s, got, err, cents.Num())
		}
	}
}

func TestMoneyText(t *testing.T) {
	for m, want := range map[Money]string{
		0:        "0.00",
		1:        "0.01",
		10:       "0.10",
		99:       "0.99",
		100:      "1.00",
		1234:     "12.34",
		123456:   "1234.56",
		MaxMoney: "1000000000.00",
		-1:       "-0.01",
		-1234:    "-12.34",
		1 << 62:  "46116860184273879.04",
	} {
		if got := m.String(); got != want {
			t.Errorf("Money(%d).String() = %q, want %q", m, got, want)
		}
		if got := string(m.AppendText([]byte("x="))); got != "x="+want {
			t.Errorf("Money(%d).AppendText = %q, want %q", m, got, "x="+want)
		}
		b, err := m.MarshalJSON()
		if err != nil || string(b) != `"`+want+`"` {
			t.Errorf("Money(%d).MarshalJSON = %s, %v; want %q", m, b, err, want)
		}
		if m >= 0 && m <= MaxMoney {
			if back, err := ParseMoney(m.String()); err != nil || back != m {
				t.Errorf("ParseMoney(%q) = %d, %v; want %d", m.String(), back, err, m)
			}
		}
	}
	// encoding/json uses MarshalJSON: a string, never a float.
	b, err := json.Marshal(struct {
		Amount Money  `json:"amount"`
		Ptr    *Money `json:"ptr"`
	}{Amount: 25980, Ptr: new(Money)})
	if err != nil || string(b) != `{"amount":"259.80","ptr":"0.00"}` {
		t.Errorf("json.Marshal = %s, %v", b, err)
	}
}

func TestMoneyRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		m := Money(rng.Int64N(int64(MaxMoney) + 1))
		if back, err := ParseMoney(m.String()); err != nil || back != m {
			t.Fatalf("ParseMoney(%q) = %d, %v; want %d", m.String(), back, err, m)
		}
	}
}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"0", "-0", "12.34", "1.005", "1.5e2", "1e-30", "1e31", "--1", "00012.50", "1000000000.00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkMoneyAgainstRat(t, s)
	})
}
