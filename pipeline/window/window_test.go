package window

import (
	"math"
	"sync"
	"testing"
	"time"
)

var (
	viewer0 = SourceKey{"livepulse.viewer", 0}
	order0  = SourceKey{"livepulse.order", 0}
	refund0 = SourceKey{"livepulse.refund", 0}
)

// step is one call in a scenario: an Observe (src set), a Remove (remove set), or a check of
// the watermark (want set), at wall-clock offset at.
type step struct {
	at     time.Duration
	src    SourceKey
	ts     int64
	remove bool
	want   *int64
}

func obs(at time.Duration, src SourceKey, ts int64) step { return step{at: at, src: src, ts: ts} }
func rm(at time.Duration, src SourceKey) step            { return step{at: at, src: src, remove: true} }
func want(at time.Duration, wm int64) step               { return step{at: at, want: &wm} }

func TestWatermark(t *testing.T) {
	const s = time.Second
	cfg := Config{MaxOutOfOrder: 5 * s, IdleTimeout: 10 * s}
	cases := []struct {
		name  string
		steps []step
	}{
		{"nothing observed", []step{want(0, math.MinInt64)}},
		{"in order", []step{
			obs(0, viewer0, 10_000), want(0, 5_000),
			obs(s, viewer0, 11_000), want(s, 6_000),
			obs(2*s, viewer0, 20_000), want(2*s, 15_000),
		}},
		{"out of order events do not move it back", []step{
			obs(0, viewer0, 20_000), want(0, 15_000),
			obs(s, viewer0, 17_000), want(s, 15_000),
			obs(s, viewer0, 21_000), want(s, 16_000),
		}},
		{"minimum over sources", []step{
			obs(0, viewer0, 20_000), obs(0, order0, 12_000), want(0, 7_000),
			obs(s, order0, 30_000), want(s, 15_000),
		}},
		{"an idle partition does not stall it", []step{
			obs(0, viewer0, 20_000), obs(0, order0, 12_000), want(9*s, 7_000),
			obs(9*s, viewer0, 40_000), want(9*s, 7_000), // order0 idle 9 s: still active
			want(10*s, 35_000),                            // order0 idle 10 s: left out
			obs(11*s, order0, 13_000), want(11*s, 35_000), // it woke up behind: no going back
		}},
		{"all idle: the newest of all", []step{
			obs(0, viewer0, 20_000), obs(0, order0, 12_000), obs(0, refund0, 50_000),
			want(0, 7_000), want(30*s, 45_000),
		}},
		{"remove", []step{
			obs(0, viewer0, 20_000), obs(0, order0, 12_000), want(0, 7_000),
			rm(s, order0), want(s, 15_000),
			rm(s, viewer0), want(s, 15_000), // nothing left: keep what was returned
			obs(2*s, viewer0, 18_000), want(2*s, 15_000),
		}},
		{"monotonic when a slower source appears", []step{
			obs(0, viewer0, 60_000), want(0, 55_000),
			obs(s, order0, 1_000), want(s, 55_000),
			obs(2*s, order0, 70_000), obs(2*s, viewer0, 80_000), want(2*s, 65_000),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Unix(1_700_000_000, 0)
			w := New(cfg)
			for i, st := range c.steps {
				now := t0.Add(st.at)
				switch {
				case st.want != nil:
					if got := w.Watermark(now); got != *st.want {
						t.Fatalf("step %d: watermark %d, want %d", i, got, *st.want)
					}
				case st.remove:
					w.Remove(st.src)
				default:
					w.Observe(st.src, st.ts, now)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	w := New(Config{})
	now := time.Unix(1_700_000_000, 0)
	w.Observe(viewer0, 100_000, now)
	if got := w.Watermark(now); got != 95_000 {
		t.Fatalf("default out-of-orderness: %d", got)
	}
	w.Observe(order0, 50_000, now)
	if got := w.Watermark(now.Add(9 * time.Second)); got != 95_000 {
		t.Fatalf("monotonic: %d", got)
	}
	w.Observe(viewer0, 200_000, now.Add(9*time.Second))
	if got := w.Watermark(now.Add(10 * time.Second)); got != 195_000 {
		t.Fatalf("default idle timeout: %d", got)
	}
}

// TestConcurrent exercises the lock under -race and checks the result is never decreasing.
func TestConcurrent(t *testing.T) {
	w := New(Config{})
	now := time.Unix(1_700_000_000, 0)
	var wg sync.WaitGroup
	for p := range int32(8) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := SourceKey{"t", p}
			last := int64(math.MinInt64)
			for i := range int64(2000) {
				w.Observe(src, i*10+int64(p), now)
				got := w.Watermark(now)
				if got < last {
					t.Errorf("watermark went back from %d to %d", last, got)
					return
				}
				last = got
				if i%500 == 0 {
					w.Remove(src)
				}
			}
		}()
	}
	wg.Wait()
}
