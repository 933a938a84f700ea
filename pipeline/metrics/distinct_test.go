package metrics

import (
	"math"
	"strconv"
	"testing"

	"github.com/livepulse/livepulse/schemas/idhash"
)

func TestDistinctExactBelowBound(t *testing.T) {
	f := func(limit, values, repeats int, want uint64) {
		t.Helper()
		var d distinct
		for r := 0; r < repeats; r++ {
			for i := range values {
				d.add(idhash.String(idhash.ID, "buyer-"+strconv.Itoa(i)), limit)
			}
		}
		if got := d.count(); got != want {
			t.Errorf("limit %d, %d values ×%d: %d, want %d", limit, values, repeats, got, want)
		}
		if (d.hll != nil) != (values > limit) {
			t.Errorf("limit %d, %d values: sketch %v", limit, values, d.hll != nil)
		}
	}
	f(4096, 0, 1, 0)
	f(4096, 1, 5, 1)
	f(4096, 1000, 3, 1000)
	f(4096, 4096, 2, 4096) // exactly at the bound: still exact
	f(1, 1, 3, 1)
	f(10, 10, 1, 10)
	f(10, 11, 1, 11) // switched to the sketch, which is exact-ish for tiny sets
}

func TestDistinctReset(t *testing.T) {
	var d distinct
	for i := range 10_000 {
		d.add(uint64(i)*0x9e3779b97f4a7c15+1, 4096)
	}
	d.reset()
	if d.count() != 0 || d.hll != nil || d.set != nil {
		t.Fatalf("reset kept state: n=%d hll=%v cap=%d", d.count(), d.hll != nil, cap(d.set))
	}
	d.add(7, 4096)
	d.add(7, 4096)
	if d.count() != 1 {
		t.Fatalf("count after reset %d", d.count())
	}
}

// TestHLLError: past the exact bound, the HyperLogLog stays within 2 % (≈ 2.5 standard errors)
// from thousands to a million distinct values, and duplicates do not move it.
func TestHLLError(t *testing.T) {
	sizes := []int{5_000, 20_000, 50_000, 100_000, 300_000, 1_000_000}
	if testing.Short() {
		sizes = sizes[:4]
	}
	for _, n := range sizes {
		var d distinct
		for i := range n {
			d.add(idhash.String(idhash.Viewer, "viewer-"+strconv.Itoa(i)), 4096)
		}
		for i := range n / 10 { // duplicates
			d.add(idhash.String(idhash.Viewer, "viewer-"+strconv.Itoa(i)), 4096)
		}
		got := d.count()
		rel := (float64(got) - float64(n)) / float64(n)
		t.Logf("%8d distinct: estimate %8d (%+.3f %%)", n, got, 100*rel)
		if math.Abs(rel) > 0.02 {
			t.Errorf("%d distinct: estimate %d off by %.2f %%", n, got, 100*rel)
		}
	}
}
