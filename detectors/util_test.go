package detectors

import (
	"math"
	"testing"
)

func TestWilsonLower(t *testing.T) {
	z := zFor(0.95)
	if math.Abs(z-1.959964) > 1e-5 {
		t.Fatalf("z(0.95) = %v", z)
	}
	for _, c := range []struct {
		k, n int
		want float64
	}{
		{2, 3, 0.2077}, // 2 of 3 refunded: the true rate could be 21 %
		{20, 30, 0.4878},
		{21, 30, 0.5212},
		{24, 30, 0.6269},
		{0, 10, 0},
		{10, 10, 0.7225},
		{0, 0, 0},
	} {
		if got := wilsonLower(c.k, c.n, z); math.Abs(got-c.want) > 5e-4 {
			t.Errorf("wilsonLower(%d, %d) = %.4f, want %.4f", c.k, c.n, got, c.want)
		}
	}
}

func TestLogPoissonTail(t *testing.T) {
	f := func(k int, lambda, want float64) {
		t.Helper()
		if got := math.Exp(logPoissonTail(k, lambda)); math.Abs(got-want) > 1e-6*max(want, 1e-300) && math.Abs(got-want) > 1e-12 {
			t.Errorf("P(X ≥ %d | λ=%g) = %.10g, want %.10g", k, lambda, got, want)
		}
	}
	f(0, 3, 1)
	f(1, 1, 1-math.Exp(-1))
	f(2, 1, 1-2*math.Exp(-1))
	f(3, 0.5, 1-math.Exp(-0.5)*(1+0.5+0.125))
	f(5, 0, 0)
	// Far tails, where 1 − Σ would lose every digit: P(X ≥ 20 | λ = 1) = e⁻¹ Σ_{i≥20} 1/i!.
	f(20, 1, 1.587527601e-19)
	if got := logPoissonTail(1000, 1); math.IsInf(got, 0) || got > -5000 {
		t.Errorf("ln P(X ≥ 1000 | λ=1) = %g, want a finite value below −5000", got)
	}
}

func TestWords(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{fmtChance(math.Log(1.0 / 3_456_789)), "1 in 3,500,000"},
		{fmtChance(math.Log(0.25)), "1 in 4"},
		{fmtChance(-40), "below 1 in a trillion"},
		{fmtInt(48000), "48,000"},
		{fmtInt(5120), "5,120"},
		{fmtInt(999), "999"},
		{fmtInt(1234567), "1,234,567"},
		{fmtInt(-1500), "-1,500"},
		{fmtPct(0.61), "61 %"},
		{fmtPct(0.041), "4.1 %"},
		{fmtPct(0.05), "5 %"},
		{fmtPct(1), "100 %"},
		{fmtX(9.375), "9.4×"},
		{fmtNum(3), "3"},
		{fmtNum(1.36), "1.36"},
		{fmtNum(0.456), "0.46"},
		{fmtNum(12.34), "12.3"},
		{fmtNum(1234.5), "1,235"},
		{fmtDur(45_000), "45 s"},
		{fmtDur(200_000), "3 min 20 s"},
		{fmtDur(30 * 60_000), "30 min"},
		{fmtDur(90 * 60_000), "1 h 30 min"},
		{fmtMoney(4990, "CNY"), "49.90 CNY"},
		{fmtMoney(123456705, ""), "1,234,567.05"},
		{Duration(30 * 60e9).String(), "30m"},
		{Duration(3600e9).String(), "1h"},
		{Duration(90e9).String(), "1m30s"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestNetHash(t *testing.T) {
	if netHash("1.2.3.4") != netHash("1.2.3.200") || netHash("1.2.3.4") == netHash("1.2.4.4") {
		t.Error("IPv4 networks are /24")
	}
	if netHash("2001:db8:1:2::1") != netHash("2001:db8:1:ffff::2") || netHash("2001:db8:1::1") == netHash("2001:db8:2::1") {
		t.Error("IPv6 networks are the first three groups")
	}
	if netHash("") != 0 {
		t.Error("no address, no network")
	}
}

func TestFloorDiv(t *testing.T) {
	for _, c := range [][3]int64{{25, 10, 2}, {20, 10, 2}, {-1, 10, -1}, {-10, 10, -1}, {-11, 10, -2}, {0, 10, 0}} {
		if got := floorDiv(c[0], c[1]); got != c[2] {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}

// advanceHead keeps every kept order at its sequence number: seq0 + index.
func TestAdvanceHead(t *testing.T) {
	var s []uint64
	head, seq0 := 0, uint64(0)
	next := uint64(0)
	for round := range 5000 {
		for range 3 + boolInt(round == 0)*10 { // orders arrive (a standing backlog of 10 first)
			s = append(s, next)
			next++
		}
		for range 3 { // the oldest retire, never all: the queue only compacts
			s, head, seq0 = advanceHead(s, head+1, seq0)
		}
		for i := head; i < len(s); i++ {
			if s[i] != seq0+uint64(i) {
				t.Fatalf("round %d: order at %d holds %d, want %d", round, i, s[i], seq0+uint64(i))
			}
		}
	}
	if seq0 == 0 || cap(s) > 4096 {
		t.Errorf("queue never compacted: seq0 %d, cap %d", seq0, cap(s))
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
