package schemas

import (
	"hash/maphash"
	"strconv"
	"testing"
	"unsafe"
)

// TestInterner: every value comes back equal to its bytes and, while the map holds it, as the
// same string, also when many values share cache slots.
func TestInterner(t *testing.T) {
	in := interner{m: map[string]string{}, seed: maphash.MakeSeed()}
	first := map[string]*byte{}
	for round := range 3 {
		for i := range 5 * internCache { // five values per cache slot on average
			v := "stream-" + strconv.Itoa(i)
			got := in.get([]byte(v))
			if got != v {
				t.Fatalf("get(%q) = %q", v, got)
			}
			if p, ok := first[v]; ok && p != unsafe.StringData(got) {
				t.Fatalf("round %d: %q is a new string", round, v)
			}
			first[v] = unsafe.StringData(got)
		}
	}
	if got := in.get(nil); got != "" {
		t.Fatalf("get(nil) = %q", got)
	}
}
