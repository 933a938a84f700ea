package detectors

import (
	"fmt"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/simulate"
	"github.com/livepulse/livepulse/schemas"
)

func TestZZSim(t *testing.T) {
	for _, sc := range [][]string{nil, {"all"}} {
		for seed := int64(1); seed <= 3; seed++ {
			start := time.Date(2025, 11, 10, 20, 0, 0, 0, time.UTC)
			cfg := simulate.Config{Seed: seed, Start: start, Duration: 50 * time.Minute, Streams: 12, Rate: 1500, Scenarios: sc}
			g := simulate.NewGenerator(cfg)
			dec := schemas.NewDecoder(schemas.DecoderConfig{})
			e := NewEngine(DefaultConfig())
			var m simulate.Message
			var ev schemas.Event
			var flags []Flag
			newest := int64(-1 << 62)
			n := 0
			for g.Next(&m) {
				if m.Bad { continue }
				if err := dec.Decode(m.Kind, m.Value, time.UnixMilli(m.TS), &ev); err != nil { t.Fatal(err) }
				e.Observe(&ev)
				newest = max(newest, m.TS)
				n++
				if n%1000 == 0 { flags = append(flags, e.Advance(newest-5000)...) }
			}
			flags = append(flags, e.Advance(newest+30*60_000)...)
			fmt.Printf("== scenarios %v seed %d: %d events, late %d\n", sc, seed, n, e.Stats().Late)
			for _, l := range g.Labels() {
				fmt.Printf("  label %s %s fraud=%v onset=+%ds end=+%ds %v\n", l.Scenario, l.StreamID, l.Fraud, (l.Onset.UnixMilli()-start.UnixMilli())/1000, (l.End.UnixMilli()-start.UnixMilli())/1000, l.Params)
			}
			for _, f := range flags {
				if f.State == StateClosed || true {
					s := f.Evidence.Summary
					if len(s) > 400 { s = s[:400] }
					fmt.Printf("  flag %s %s %s %s %.2f +%ds [+%d,+%d) %s\n", f.Kind, f.StreamID, f.State, f.Severity, f.Score, (f.DetectedAt-start.UnixMilli())/1000, (f.WindowStart-start.UnixMilli())/1000, (f.WindowEnd-start.UnixMilli())/1000, s)
				}
			}
		}
	}
}
