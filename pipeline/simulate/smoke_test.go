package simulate

import (
	"fmt"
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	loc := shanghai()
	for _, start := range []time.Time{time.Date(2025, 11, 10, 21, 0, 0, 0, loc), time.Date(2025, 11, 10, 23, 50, 0, 0, loc), time.Date(2025, 11, 10, 4, 0, 0, 0, loc)} {
		g := NewGenerator(Config{Seed: 1, Start: start, Duration: 20 * time.Minute, BadFraction: 0.001})
		var m Message
		n := 0
		perMin := map[int64]int{}
		t0 := time.Now()
		for g.Next(&m) {
			if n < 8 || (n%200000 == 0) {
				fmt.Printf("%s %s\n", m.Kind, m.Value)
			}
			n++
			perMin[(m.TS-g.start)/60000]++
		}
		el := time.Since(t0)
		fmt.Println(start, n, el, float64(n)/el.Seconds(), "ev/s gen")
		fmt.Println(g.Stats())
		for i := int64(0); i < 20; i++ {
			lvl := CurveLevel(time.UnixMilli(g.start + i*60000 + 30000).In(loc))
			fmt.Printf("min %d: %d ev/s  level %.2f  target %.0f\n", i, perMin[i]/60, lvl, 2000*lvl)
		}
	}
}
