package ingest

import (
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

func order(id string, ts int64, cents int64) *schemas.Event {
	return &schemas.Event{Kind: schemas.KindOrder, Order: schemas.Order{Header: schemas.Header{EventID: id, TS: ts, StreamID: "s", KOLID: "k"},
		OrderID: "o", BuyerID: "b", Quantity: 1, Amount: schemas.Money(cents), Currency: "CNY"}}
}

func TestDedupeIndex(t *testing.T) {
	d := newDedupeIndex(time.Minute, 3)
	f := func(ev *schemas.Event, offset int64, want schemas.Reason) {
		t.Helper()
		if got := d.check(ev, offset); got != want {
			t.Errorf("%s at %d: %q, want %q", ev.Header().EventID, offset, got, want)
		}
	}
	f(order("a", 1000, 100), 0, "")
	f(order("a", 1000, 100), 1, ReasonDuplicateEvent)
	f(order("a", 1000, 101), 2, ReasonDuplicateEventID)
	f(order("a", 1000, 100), 0, "") // re-reading the stored event itself
	f(order("b", 2000, 100), 3, "")
	f(order("c", 3000, 100), 4, "")
	f(order("a", 1000, 100), 5, ReasonDuplicateEvent)
	// A fourth event evicts the oldest (max 3): a later resend of it is no longer caught.
	f(order("d", 4000, 100), 6, "")
	f(order("a", 1000, 100), 7, "")
	// The window: an event a minute older than the newest is evicted when the next arrives.
	d = newDedupeIndex(time.Minute, 100)
	f(order("old", 0, 100), 0, "")
	f(order("new", 61_000, 100), 1, "")
	f(order("old", 0, 100), 2, "")
	f(order("recent", 30_000, 100), 3, "")
	f(order("recent", 30_000, 100), 4, ReasonDuplicateEvent)
	// An id queued twice (the seed may hold two stored rows of one id): evicting its first
	// entry must not forget the second.
	d = newDedupeIndex(time.Hour, 3)
	x := order("x", 0, 1)
	kx, cx := d.keys(x)
	d.remember(kx, seenEvent{content: cx, offset: 0}, 0)
	d.remember(kx, seenEvent{content: cx, offset: 1}, 0)
	f(order("y", 0, 1), 2, "")
	f(order("z", 0, 1), 3, "") // evicts x's first entry
	f(x, 4, ReasonDuplicateEvent)
	f(x, 1, "") // the entry remembered last is the stored one
}

// TestDedupeIndexFullBucket: ids that all hash to one bucket overflow it and are still found,
// and eviction frees both bucket entries and overflow ones.
func TestDedupeIndexFullBucket(t *testing.T) {
	const max = 16
	d := newDedupeIndex(time.Hour, max)
	key := func(i int) idKey { return idKey{uint64(i+1)<<48 | 7, uint64(i)} } // same low bits, other fingerprints
	for n := 1; n <= 40; n++ {
		d.remember(key(n-1), seenEvent{content: uint64(n - 1), offset: int64(n - 1)}, 0)
		for i := range n {
			s, ok := d.lookup(key(i))
			if want := i >= n-max; ok != want || ok && s.offset != int64(i) {
				t.Fatalf("after %d ids, id %d: found %v (offset %d), want found %v", n, i, ok, s.offset, want)
			}
		}
		if len(d.overflow) > max-len(bucket{}) {
			t.Fatalf("after %d ids: %d overflowing, want at most %d", n, len(d.overflow), max-len(bucket{}))
		}
	}
}

// TestDedupeContentCoversEveryField: changing any field of an event changes its content hash,
// so a conflict is never taken for a resend (and a new field must be added to keys).
func TestDedupeContentCoversEveryField(t *testing.T) {
	d := newDedupeIndex(time.Hour, 10)
	for _, k := range schemas.Kinds {
		ev := schemas.Event{Kind: k}
		member := reflect.ValueOf(&ev).Elem().FieldByName(strings.ToUpper(k.String()[:1]) + k.String()[1:])
		_, base := d.keys(&ev)
		fields := 0
		var walk func(v reflect.Value, path string)
		walk = func(v reflect.Value, path string) {
			for i := 0; i < v.NumField(); i++ {
				f, name := v.Field(i), path+v.Type().Field(i).Name
				if f.Kind() == reflect.Struct {
					walk(f, name+".")
					continue
				}
				old := reflect.New(f.Type()).Elem()
				old.Set(f)
				switch f.Kind() {
				case reflect.String:
					f.SetString("changed")
				case reflect.Int64, reflect.Int32, reflect.Int:
					f.SetInt(7)
				case reflect.Uint64, reflect.Uint32, reflect.Uint8, reflect.Uint16:
					f.SetUint(7)
				default:
					t.Fatalf("%s: unhandled field kind %s", name, f.Kind())
				}
				fields++
				if _, h := d.keys(&ev); h == base {
					t.Errorf("%s: changing %s leaves the content hash unchanged", k, name)
				}
				f.Set(old)
			}
		}
		walk(member, "")
		if fields < 10 {
			t.Errorf("%s: only %d fields walked", k, fields)
		}
	}
}

func TestDedupeIndexBounded(t *testing.T) {
	d := newDedupeIndex(time.Hour, 1000)
	for i := 0; i < 100_000; i++ {
		d.check(order(strconv.Itoa(i), int64(i), 1), int64(i))
		if live := d.next - d.first; live > 1000 || len(d.ring) > 1000 || len(d.buckets)*eventsPerBucket > 2*1000 || len(d.overflow) > 1000 {
			t.Fatalf("after %d events: %d live, ring of %d, %d buckets, %d overflowing", i+1, live, len(d.ring), len(d.buckets), len(d.overflow))
		}
	}
	for i := 99_000; i < 100_000; i++ {
		if got := d.check(order(strconv.Itoa(i), int64(i), 1), int64(i)+1); got != ReasonDuplicateEvent {
			t.Fatalf("recent event %d: %q", i, got)
		}
	}
}

// BenchmarkDedupeCheck: the per-event cost of deduplication once the index is full.
func BenchmarkDedupeCheck(b *testing.B) {
	d := newDedupeIndex(time.Hour, 200_000)
	evs := make([]*schemas.Event, 1<<18)
	for i := range evs {
		evs[i] = order("order-event-"+strconv.Itoa(i), int64(i), 1999)
	}
	for i := range evs {
		d.check(evs[i], int64(i))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(evs[0].AppendJSON(nil))))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i & (len(evs) - 1)
		d.check(evs[j], int64(len(evs)+i))
	}
}

// BenchmarkDedupeMemory reports the heap one full index takes per remembered event.
func BenchmarkDedupeMemory(b *testing.B) {
	const n = 200_000
	ev := order("", 0, 1999)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "order-event-" + strconv.Itoa(i)
	}
	var before, after runtime.MemStats
	for i := 0; i < b.N; i++ {
		runtime.GC()
		runtime.ReadMemStats(&before)
		d := newDedupeIndex(time.Hour, n)
		for j, id := range ids {
			ev.Order.EventID, ev.Order.TS = id, int64(j)
			d.check(ev, int64(j))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/event")
		runtime.KeepAlive(d)
	}
}
