package metrics

import (
	"math"
	"math/bits"
)

// HyperLogLog with precision 14: 2¹⁴ one-byte registers (16 KiB), standard error
// 1.04/√2¹⁴ ≈ 0.81 %. The estimate is Ertl's improved raw estimator ("New cardinality estimation
// algorithms for HyperLogLog sketches", 2017, algorithm 6), which is unbiased from a handful of
// values up to 2⁶⁴ without the empirical bias tables of HyperLogLog++ or a switch to linear
// counting.
const (
	hllP = 14
	hllM = 1 << hllP
	hllQ = 64 - hllP // hash bits left for the rank
)

type hll struct {
	reg      [hllM]uint8
	estimate uint64 // cached; valid unless dirty
	dirty    bool
}

// add inserts a 64-bit hash: the top hllP bits pick the register, the rank of the rest (position
// of its first 1 bit, capped at hllQ+1) is kept if larger.
func (h *hll) add(x uint64) {
	i := x >> hllQ
	r := uint8(min(bits.LeadingZeros64(x<<hllP), hllQ) + 1)
	if r > h.reg[i] {
		h.reg[i] = r
		h.dirty = true
	}
}

func (h *hll) count() uint64 {
	if !h.dirty {
		return h.estimate
	}
	var c [hllQ + 2]int // histogram of register values
	for _, r := range h.reg {
		c[r]++
	}
	const m = float64(hllM)
	z := m * ertlTau(1-float64(c[hllQ+1])/m)
	for k := hllQ; k >= 1; k-- {
		z = 0.5 * (z + float64(c[k]))
	}
	z += m * ertlSigma(float64(c[0])/m)
	const alphaInf = 0.5 / math.Ln2
	h.estimate = uint64(math.Round(alphaInf * m * m / z))
	h.dirty = false
	return h.estimate
}

func ertlSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

func ertlTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}
