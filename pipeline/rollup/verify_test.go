package rollup

import "testing"

func TestSameRow(t *testing.T) {
	const base = "17925.63\t107\t105\t0\t0\t0\t1918\t1037\t5775\t1262\t12\t"
	f := func(got, want string, same bool) {
		t.Helper()
		if sameRow(got, want) != same {
			t.Errorf("sameRow(%q, %q) = %v", got, want, !same)
		}
	}
	f(base+"4223", base+"4222", true)                 // unique viewers beyond 4096: a HyperLogLog estimate
	f(base+"4989", base+"4955", true)                 // 0.7 % off
	f(base+"5200", base+"4955", false)                // 4.9 % off: more than 5 standard errors
	f(base+"4000", base+"4001", false)                // exact up to 4096
	f("17925.64"+base[8:]+"4222", base+"4222", false) // money is always exact
	f(base+"4222", base+"4222\t1", false)
}
