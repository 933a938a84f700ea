package window

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestWatermarkCache: the cached watermark always equals a computation from scratch, over random
// registrations, observations (event times out of order, backlog flags, wall clocks that step
// back as concurrent callers' do) and removals.
func TestWatermarkCache(t *testing.T) {
	const idle = 10 * time.Second
	srcs := []SourceKey{{"v", 0}, {"v", 1}, {"o", 0}, {"o", 1}, {"r", 0}}
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		w := New(Config{MaxOutOfOrder: 5 * time.Second, IdleTimeout: idle})
		want := int64(math.MinInt64)
		t0 := time.Unix(1_700_000_000, 0)
		wall := t0
		ts := int64(1_700_000_000_000)
		for step := range 2000 {
			wall = wall.Add(time.Duration(rng.IntN(4000)-500) * time.Millisecond)
			now := wall.Add(-time.Duration(rng.IntN(300)) * time.Millisecond) // a caller's older clock reading
			src := srcs[rng.IntN(len(srcs))]
			switch op := rng.IntN(100); {
			case op < 2:
				w.Remove(src)
			case op < 4:
				w.Register(src, now, rng.IntN(2) == 0)
			case op < 70:
				ts += int64(rng.IntN(2000) - 500)
				w.ObserveBacklog(src, ts-int64(rng.IntN(3000)), now, rng.IntN(4) == 0)
			}
			at := wall.Add(time.Duration(rng.IntN(25_000)-300) * time.Millisecond)
			want = max(want, recompute(w, at))
			if got := w.Watermark(at); got != want {
				t.Fatalf("seed %d, step %d: watermark %d, want %d", seed, step, got, want)
			}
		}
	}
}

// recompute is the watermark's definition, from the sources alone.
func recompute(w *Watermarks, wallNow time.Time) int64 {
	activeMin, allMax, active := int64(math.MaxInt64), int64(math.MinInt64), false
	for _, s := range w.sources {
		v := subSat(s.maxTS, w.lag)
		allMax = max(allMax, v)
		if s.behind || wallNow.Sub(s.lastSeen) < w.idle {
			active, activeMin = true, min(activeMin, v)
		}
	}
	switch {
	case active:
		return activeMin
	case len(w.sources) > 0:
		return allMax
	}
	return math.MinInt64
}
