package idhash

import (
	"math/rand/v2"
	"testing"
)

// TestTableAgainstMap runs random inserts, updates, deletes and sweeps on a Table and on a Go
// map side by side. Keys come from small pools with shared low bits too, so that runs of entries
// collide, wrap around the end of the slice and get shifted back by deletes.
func TestTableAgainstMap(t *testing.T) {
	f := func(name string, key func(r *rand.Rand) uint64) {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var tab Table[int]
			ref := map[uint64]int{}
			check := func(step int) {
				t.Helper()
				if tab.Len() != len(ref) {
					t.Fatalf("step %d: Len %d, want %d", step, tab.Len(), len(ref))
				}
				for k, v := range ref {
					if p := tab.Get(k); p == nil || *p != v {
						t.Fatalf("step %d: Get(%#x) = %v, want %d", step, k, p, v)
					}
				}
			}
			for step := range 20_000 {
				k := key(r)
				switch op := r.IntN(100); {
				case op < 50:
					*tab.Insert(k) += step
					ref[k] += step
				case op < 80:
					p, want := tab.Get(k), 0
					w, ok := ref[k]
					if ok {
						want = w
					}
					if (p != nil) != ok || (p != nil && *p != want) {
						t.Fatalf("step %d: Get(%#x) = %v, want %d (present %v)", step, k, p, want, ok)
					}
				case op < 98:
					tab.Delete(k)
					delete(ref, k)
				default:
					seen := map[uint64]bool{}
					mod := uint64(r.IntN(3) + 2)
					tab.Sweep(func(k uint64, v *int) bool {
						if seen[k] {
							t.Fatalf("step %d: Sweep visited %#x twice", step, k)
						}
						seen[k] = true
						if *v != ref[k] {
							t.Fatalf("step %d: Sweep saw %#x = %d, want %d", step, k, *v, ref[k])
						}
						return k%mod != 0
					})
					if len(seen) != len(ref) {
						t.Fatalf("step %d: Sweep visited %d of %d", step, len(seen), len(ref))
					}
					for k := range ref {
						if k%mod == 0 {
							delete(ref, k)
						}
					}
				}
				if step%97 == 0 {
					check(step)
				}
			}
			check(-1)
			tab.Clear()
			if tab.Len() != 0 || tab.Get(key(r)) != nil {
				t.Fatal("Clear left entries")
			}
		})
	}
	f("mixed", func(r *rand.Rand) uint64 { return Mix64(uint64(r.IntN(3_000))) })
	f("same low bits", func(r *rand.Rand) uint64 { return uint64(r.IntN(300))<<40 | 7 })
	f("near the end", func(r *rand.Rand) uint64 { return uint64(r.IntN(300))<<40 | 0xffff_fffe })
	f("with zero", func(r *rand.Rand) uint64 { return uint64(r.IntN(50)) })
}

func TestTableShrinks(t *testing.T) {
	var tab Table[struct{}]
	for i := range 10_000 {
		tab.Insert(Mix64(uint64(i + 1)))
	}
	big := len(tab.slots)
	tab.Sweep(func(k uint64, _ *struct{}) bool { return k%100 == 0 })
	if len(tab.slots) >= big/8 {
		t.Fatalf("%d slots for %d entries (was %d)", len(tab.slots), tab.Len(), big)
	}
	if tab.Len() == 0 || tab.Len() > 200 {
		t.Fatalf("Len %d after keeping 1 in 100", tab.Len())
	}
}

// BenchmarkTableVsMap looks up and updates a random session among 100,000, the access pattern
// of the hot path, in a Table and in a Go map (read, then write back).
func BenchmarkTableVsMap(b *testing.B) {
	const n = 100_000
	type session struct{ first, last, close, device, net int64 }
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = Mix64(uint64(i) + 1)
	}
	r := rand.New(rand.NewPCG(3, 4))
	order := make([]int, 1<<16)
	for i := range order {
		order[i] = r.IntN(n)
	}
	b.Run("table", func(b *testing.B) {
		var tab Table[session]
		for _, k := range keys {
			tab.Insert(k)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s := tab.Get(keys[order[i&(len(order)-1)]])
			s.last++
		}
	})
	b.Run("map", func(b *testing.B) {
		m := make(map[uint64]session)
		for _, k := range keys {
			m[k] = session{}
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			k := keys[order[i&(len(order)-1)]]
			s := m[k]
			s.last++
			m[k] = s
		}
	})
}
