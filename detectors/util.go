package detectors

import (
	"math"
	"strconv"
	"strings"

	"github.com/livepulse/livepulse/schemas"
	"github.com/livepulse/livepulse/schemas/idhash"
)

// nonZero keeps 0 free to mean "unknown".
func nonZero(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// sessionKey is the key of a viewer event's session: its session_id, else its viewer_id (the
// rule of pipeline/metrics).
func sessionKey(v *schemas.Viewer) (uint64, bool) {
	switch {
	case v.SessionID != "":
		return idhash.String(idhash.Session, v.SessionID), true
	case v.ViewerID != "":
		return idhash.String(idhash.Viewer, v.ViewerID), true
	}
	return 0, false
}

// netHash returns the hash of ip's network: the /24 of an IPv4 address ("1.2.3.4" → "1.2.3"),
// the first three groups (/48 when written in full) of an IPv6 one; 0 for an empty address.
func netHash(ip string) uint64 {
	if ip == "" {
		return 0
	}
	cut := len(ip)
	if strings.IndexByte(ip, ':') >= 0 {
		n := 0
		for i := 0; i < len(ip); i++ {
			if ip[i] == ':' {
				n++
				if n == 3 {
					cut = i
					break
				}
			}
		}
	} else if i := strings.LastIndexByte(ip, '.'); i > 0 {
		cut = i
	}
	return nonZero(idhash.String(idhash.Net, ip[:cut]))
}

// floorDiv is a/b rounded toward −∞ (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// subSat returns a−b (b ≥ 0) without wrapping below math.MinInt64.
func subSat(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

// Statistics.

// wilsonLower is the lower end of the Wilson score interval for k successes in n trials at
// normal quantile z: the smallest rate the data do not rule out. 0 when n = 0.
func wilsonLower(k, n int, z float64) float64 {
	if n <= 0 {
		return 0
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	centre := p + z2/(2*nf)
	margin := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return max(0, (centre-margin)/(1+z2/nf))
}

// logPoissonTail is ln P(X ≥ k) for X ~ Poisson(λ): how surprising k events are where λ were
// expected. Summed from k upwards, so tails far below float64's 1 − ε stay exact.
func logPoissonTail(k int, lambda float64) float64 {
	if k <= 0 {
		return 0
	}
	if lambda <= 0 {
		return math.Inf(-1)
	}
	lg, _ := math.Lgamma(float64(k) + 1)
	logTerm := -lambda + float64(k)*math.Log(lambda) - lg
	sum, term := 1.0, 1.0 // terms relative to the k-th
	for i := k + 1; i < k+10_000; i++ {
		term *= lambda / float64(i)
		sum += term
		if term < 1e-17*sum {
			break
		}
	}
	return min(0, logTerm+math.Log(sum))
}

// zFor is the normal quantile of a two-sided confidence level (0.95 → 1.96).
func zFor(confidence float64) float64 { return math.Sqrt2 * math.Erfinv(confidence) }

// strength maps x to [0, 1]: 0 at thr, 1 at full and beyond (full > thr), linear between; for a
// signal that fires when x falls (full < thr) the same in reverse.
func strength(x, thr, full float64) float64 {
	if full == thr {
		return 1
	}
	return min(1, max(0, (x-thr)/(full-thr)))
}

// noisyOr combines independent pieces of evidence, each with the probability that it alone
// means what it suggests, into one score: 1 − Π(1 − pᵢ).
func noisyOr(ps ...float64) float64 {
	q := 1.0
	for _, p := range ps {
		q *= 1 - min(1, max(0, p))
	}
	return 1 - q
}

// ewma folds x into an exponentially weighted mean whose weight halves every halfLife of event
// time; dt is the time since the previous fold.
type ewma struct {
	v  float64
	ok bool
}

func (e *ewma) add(x float64, dt, halfLife int64) {
	if !e.ok {
		e.v, e.ok = x, true
		return
	}
	a := 1 - math.Exp2(-float64(dt)/float64(halfLife))
	e.v += a * (x - e.v)
}

// round4 keeps signal values readable in JSON (and exactly reproducible as text).
func round4(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*1e4) / 1e4
}

// Words. Evidence is read by brand managers: thousands separators, whole percents, plain units.

// fmtInt formats n with thousands separators: 48000 → "48,000".
func fmtInt(n int64) string {
	if n < 0 {
		return "-" + fmtInt(-n)
	}
	s := strconv.FormatInt(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// fmtPct formats a share as a percent: 0.61 → "61 %", 0.041 → "4.1 %".
func fmtPct(x float64) string {
	p := x * 100
	if p != 0 && math.Abs(p) < 10 && math.Round(p) != p {
		return strconv.FormatFloat(p, 'f', 1, 64) + " %"
	}
	return strconv.FormatFloat(math.Round(p), 'f', 0, 64) + " %"
}

// fmtX formats a ratio: 9.375 → "9.4×".
func fmtX(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) + "×" }

// fmtNum formats a rate readably: 0.456 → "0.46", 3 → "3", 12.34 → "12.3", 1234.5 → "1,235".
func fmtNum(x float64) string {
	var s string
	switch {
	case x >= 100:
		return fmtInt(int64(math.Round(x)))
	case x >= 10:
		s = strconv.FormatFloat(x, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(x, 'f', 2, 64)
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// fmtChance formats a probability given as its logarithm, for people: "1 in 3,400,000",
// "below 1 in a trillion".
func fmtChance(logP float64) string {
	if logP < -12*math.Ln10 {
		return "below 1 in a trillion"
	}
	odds := math.Exp(-logP)
	mag := math.Pow(10, math.Max(0, math.Floor(math.Log10(odds))-1)) // two significant digits
	return "1 in " + fmtInt(int64(math.Round(odds/mag)*mag))
}

// fmtDur formats milliseconds for people: "45 s", "3 min 20 s", "30 min", "1 h 30 min".
func fmtDur(ms int64) string {
	s := (ms + 500) / 1000
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + " s"
	case s < 3600:
		out := strconv.FormatInt(s/60, 10) + " min"
		if s%60 != 0 {
			out += " " + strconv.FormatInt(s%60, 10) + " s"
		}
		return out
	}
	out := strconv.FormatInt(s/3600, 10) + " h"
	if m := s % 3600 / 60; m != 0 {
		out += " " + strconv.FormatInt(m, 10) + " min"
	}
	return out
}

// fmtMoney formats an amount in cents: 4990, "CNY" → "49.90 CNY".
func fmtMoney(m schemas.Money, currency string) string {
	neg := m < 0
	if neg {
		m = -m
	}
	s := fmtInt(int64(m/100)) + "." + strconv.FormatInt(int64(m%100)/10, 10) + strconv.FormatInt(int64(m%10), 10)
	if neg {
		s = "-" + s
	}
	if currency != "" {
		s += " " + currency
	}
	return s
}

// plural returns word for n = 1, else word+"s".
func plural(n int64, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// advanceHead moves the head of an order queue — s[head:] are the kept orders, s[0] has sequence
// number seq0 — to head, and returns the queue, head and seq0 after compacting it: emptied when
// nothing is kept, shifted down once the retired prefix outweighs the rest (amortized O(1)).
func advanceHead[T any](s []T, head int, seq0 uint64) ([]T, int, uint64) {
	switch {
	case head == len(s):
		return s[:0], 0, seq0 + uint64(head)
	case head >= 1024 && head > len(s)/2:
		n := copy(s, s[head:])
		return s[:n], 0, seq0 + uint64(head)
	}
	return s, head, seq0
}
