package idhash

import "unsafe"

// Table is a hash table keyed by id hashes, for state the hot path looks up once per event (the
// sessions of a stream). Open addressing with linear probing over one slice that keeps each key
// beside its value: a lookup reads one cache line where a Go map reads two (its control word,
// then its slot), and an update goes through the pointer a lookup returned instead of hashing a
// second time to store the value back. The keys are hashes, already mixed in every bit, so their
// low bits index the table as they are. The zero value is an empty table ready to use.
type Table[V any] struct {
	slots []slot[V] // a power of two long, or nil; key 0 marks a free slot
	n     int       // entries in slots
	zero  *V        // the entry of key 0, which cannot live in slots
}

type slot[V any] struct {
	key uint64
	val V
}

const minSlots = 8

// Len returns the number of entries.
func (t *Table[V]) Len() int {
	if t.zero != nil {
		return t.n + 1
	}
	return t.n
}

// Bytes returns the memory the table holds.
func (t *Table[V]) Bytes() int64 {
	b := int64(len(t.slots)) * int64(unsafe.Sizeof(slot[V]{}))
	if t.zero != nil {
		b += int64(unsafe.Sizeof(*t.zero))
	}
	return b
}

// Get returns the entry of key, or nil. The pointer is valid until the next Insert, Delete or
// Sweep.
func (t *Table[V]) Get(key uint64) *V {
	if key == 0 {
		return t.zero
	}
	if t.slots == nil {
		return nil
	}
	if i, ok := t.probe(key); ok {
		return &t.slots[i].val
	}
	return nil
}

// Insert returns the entry of key, adding a zero one when key has none. The pointer is valid
// until the next Insert, Delete or Sweep.
func (t *Table[V]) Insert(key uint64) *V {
	if key == 0 {
		if t.zero == nil {
			t.zero = new(V)
		}
		return t.zero
	}
	if (t.n+1)*4 > len(t.slots)*3 { // at most 3/4 full: probes stay short
		t.resize(max(minSlots, 2*len(t.slots)))
	}
	i, ok := t.probe(key)
	if !ok {
		t.slots[i].key = key
		t.n++
	}
	return &t.slots[i].val
}

// Delete removes the entry of key, if any.
func (t *Table[V]) Delete(key uint64) {
	if key == 0 {
		t.zero = nil
		return
	}
	if t.slots == nil {
		return
	}
	if i, ok := t.probe(key); ok {
		t.deleteAt(i)
	}
}

// probe returns the slot of key (found), or the free slot where the probe for it ended. slots
// must not be nil nor full.
func (t *Table[V]) probe(key uint64) (i uint64, found bool) {
	mask := uint64(len(t.slots) - 1)
	for i = key & mask; ; i = (i + 1) & mask {
		switch t.slots[i].key {
		case key:
			return i, true
		case 0:
			return i, false
		}
	}
}

// deleteAt empties slot i and moves back the entries after it that probed past it (backward
// shift), so that no lookup has to step over a tombstone.
func (t *Table[V]) deleteAt(i uint64) {
	mask := uint64(len(t.slots) - 1)
	for j := (i + 1) & mask; t.slots[j].key != 0; j = (j + 1) & mask {
		home := t.slots[j].key & mask
		if (j-home)&mask >= (j-i)&mask { // i lies on j's probe path: j may move there
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = slot[V]{}
	t.n--
}

// Sweep calls keep once for every entry, in an order that depends only on the keys, and deletes
// the entries it returns false for. keep must not change the table. A table left mostly empty
// shrinks.
func (t *Table[V]) Sweep(keep func(key uint64, v *V) bool) {
	if t.zero != nil && !keep(0, t.zero) {
		t.zero = nil
	}
	if t.n == 0 {
		return
	}
	// Start after a free slot: no run of entries crosses it, so a backward shift never moves an
	// entry behind the sweep, and every entry is visited exactly once.
	mask := uint64(len(t.slots) - 1)
	start := uint64(0)
	for t.slots[start].key != 0 {
		start++
	}
	i := (start + 1) & mask
	for visited := 0; visited < len(t.slots); {
		s := &t.slots[i]
		if s.key != 0 && !keep(s.key, &s.val) {
			t.deleteAt(i) // slot i now holds the next unvisited entry, or nothing
			continue
		}
		i = (i + 1) & mask
		visited++
	}
	if len(t.slots) > minSlots && t.n*8 < len(t.slots) {
		t.resize(max(minSlots, nextPow2(t.n*2)))
	}
}

// Clear removes every entry, keeping the memory.
func (t *Table[V]) Clear() {
	clear(t.slots)
	t.n, t.zero = 0, nil
}

func (t *Table[V]) resize(size int) {
	old := t.slots
	t.slots = make([]slot[V], size)
	mask := uint64(size - 1)
	for _, s := range old {
		if s.key == 0 {
			continue
		}
		i := s.key & mask
		for t.slots[i].key != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}
