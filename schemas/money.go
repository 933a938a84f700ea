package schemas

import (
	"errors"
	"strconv"
)

// Money is an exact amount in minor units (cents): 12.34 is Money(1234). Sums of Money are exact;
// livepulse never adds floats.
type Money int64

// MoneyScale is the number of fraction digits Money keeps (the ClickHouse column is Decimal(18, 2)).
const MoneyScale = 2

// MaxMoney bounds an accepted amount so any realistic sum stays inside Decimal(18, 2):
// one billion major units per event.
const MaxMoney Money = 1_000_000_000_00

var (
	errMoneySyntax    = errors.New("not a decimal number")
	errMoneyNegative  = errors.New("negative")
	errMoneyPrecision = errors.New("more than 2 fraction digits")
	errMoneyRange     = errors.New("above the 1,000,000,000 limit")
)

// ParseMoney parses a non-negative decimal in major units ("12", "12.3", "12.30", "1.5e2") exactly.
// Digits beyond the cent must be zeros: livepulse never rounds money silently.
func ParseMoney(s string) (Money, error) {
	if s == "" {
		return 0, errMoneySyntax
	}
	if s[0] == '-' {
		if _, _, ok := splitDecimal(s[1:]); !ok { // "--1" is malformed, not negative
			return 0, errMoneySyntax
		}
		if isZeroDecimal(s[1:]) {
			return 0, nil
		}
		return 0, errMoneyNegative
	}
	mant, exp, ok := splitDecimal(s)
	if !ok {
		return 0, errMoneySyntax
	}
	// value = mant × 10^exp; we want mant × 10^(exp+2) as an integer.
	shift := exp + MoneyScale
	digits := trimLeadingZeros(mant)
	if shift < 0 {
		// The dropped digits must all be zero.
		cut := len(digits) + shift
		for i := max(cut, 0); i < len(digits); i++ {
			if digits[i] != '0' {
				return 0, errMoneyPrecision
			}
		}
		if cut <= 0 {
			return 0, nil
		}
		digits = digits[:cut]
		shift = 0
	}
	if len(digits) == 0 {
		return 0, nil
	}
	if len(digits)+shift > 12 { // MaxMoney has 12 digits in cents
		return 0, errMoneyRange
	}
	var v int64
	for i := 0; i < len(digits); i++ {
		v = v*10 + int64(digits[i]-'0')
	}
	for ; shift > 0; shift-- {
		v *= 10
	}
	if Money(v) > MaxMoney {
		return 0, errMoneyRange
	}
	return Money(v), nil
}

// splitDecimal splits "123.45e-1" into its digits "12345" and the exponent -3 (123.45e-1 = 12345e-3).
func splitDecimal(s string) (mant []byte, exp int, ok bool) {
	i := 0
	mant = make([]byte, 0, len(s))
	intDigits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		mant = append(mant, s[i])
		i++
		intDigits++
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			mant = append(mant, s[i])
			i++
			fracDigits++
		}
		if fracDigits == 0 {
			return nil, 0, false
		}
	}
	if intDigits == 0 {
		return nil, 0, false
	}
	exp = -fracDigits
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 30 || e < -30 {
			return nil, 0, false
		}
		exp += e
		i = len(s)
	}
	return mant, exp, i == len(s)
}

func trimLeadingZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == '0' {
		b = b[1:]
	}
	return b
}

func isZeroDecimal(s string) bool {
	mant, _, ok := splitDecimal(s)
	return ok && len(trimLeadingZeros(mant)) == 0
}

// String formats m in major units with two decimals: "1234.50".
func (m Money) String() string { return string(m.AppendText(nil)) }

// AppendText appends m as "1234.50" (implements encoding.TextAppender).
func (m Money) AppendText(b []byte) []byte {
	v := int64(m)
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendInt(b, v/100, 10)
	frac := v % 100
	return append(b, '.', byte('0'+frac/10), byte('0'+frac%10))
}

// MarshalJSON writes money as a decimal string, so JSON clients never round it through a float.
func (m Money) MarshalJSON() ([]byte, error) {
	b := append(make([]byte, 0, 24), '"')
	return append(m.AppendText(b), '"'), nil
}
