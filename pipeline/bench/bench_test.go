package bench

import (
	"testing"
	"time"
)

func TestPercentileMS(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	f := func(ds []time.Duration, q float64, want float64) {
		t.Helper()
		got := percentileMS(ds, q)
		if got == nil || *got != want {
			t.Errorf("percentile %v of %v = %v, want %v", q, ds, got, want)
		}
	}
	f(ms(5), 0.99, 5)
	f(ms(3, 1, 2), 0.5, 2)
	f(ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.5, 5)
	f(ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 10)
	f(ms(100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19), 0.9, 18)
	if p := percentileMS(nil, 0.5); p != nil {
		t.Errorf("percentile of nothing = %v, want nil", *p)
	}
}

func TestVisibleAt(t *testing.T) {
	t0 := time.Unix(1_000, 0)
	v := &visibility{seen: map[string][]stored{"a/0": {{t0, 9}, {t0.Add(time.Second), 20}, {t0.Add(2 * time.Second), 21}}}}
	f := func(topic string, part int32, off int64, want time.Duration, wantOK bool) {
		t.Helper()
		at, ok := v.visibleAt(ack{topic: topic, partition: part, offset: off})
		if ok != wantOK || (ok && at.Sub(t0) != want) {
			t.Errorf("visibleAt(%s/%d@%d) = %v, %v; want +%v, %v", topic, part, off, at, ok, want, wantOK)
		}
	}
	f("a", 0, 0, 0, true)
	f("a", 0, 9, 0, true)
	f("a", 0, 10, time.Second, true)
	f("a", 0, 21, 2*time.Second, true)
	f("a", 0, 22, 0, false)
	f("a", 1, 0, 0, false)
	if !v.covers(map[string][]int64{"a": {22, 0}}) || v.covers(map[string][]int64{"a": {23}}) {
		t.Error("covers disagrees with visibleAt")
	}
}

func TestWatermarkReached(t *testing.T) {
	t0 := time.Unix(1_000, 0)
	w := &watermarks{samples: []stored{{t0, 100}, {t0.Add(time.Second), 200}, {t0.Add(2 * time.Second), 300}}}
	f := func(ts int64, want time.Duration, wantOK bool) {
		t.Helper()
		at, ok := w.reached(ts)
		if ok != wantOK || (ok && at.Sub(t0) != want) {
			t.Errorf("reached(%d) = %v, %v; want +%v, %v", ts, at, ok, want, wantOK)
		}
	}
	f(50, 0, false) // already past when sampling began: unknown when
	f(100, 0, false)
	f(150, time.Second, true)
	f(200, time.Second, true)
	f(300, 2*time.Second, true)
	f(301, 0, false)
}
