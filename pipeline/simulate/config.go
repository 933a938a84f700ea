package simulate

import (
	"slices"
	"time"
)

// Config describes the traffic to generate. The zero value works; every default is noted.
type Config struct {
	// Streams is how many live streams run at once (each of Streams slots is taken over by a new
	// stream a few minutes after the previous one ends). Default 50.
	Streams int
	// Rate is the mean number of events per second of event time, across all streams, when the
	// traffic curve is at level 1.0 (the evening peak). Default 2000.
	Rate float64
	// Start is the event time of the first event. Default time.Now().Truncate(time.Second), which
	// makes the run non-deterministic: set it whenever the bytes must repeat.
	Start time.Time
	// Duration is the span of event time to generate; the Generator stops after it. Default 10 min.
	Duration time.Duration
	// Seed selects the random sequence: the same Seed and Config yield the same bytes.
	Seed int64
	// Location is the time zone whose local time of day drives the Singles'-Day curve.
	// Default Asia/Shanghai (a fixed +08:00 zone when the tz database is missing).
	Location *time.Location
	// Currency is the ISO 4217 code of order and refund amounts. Default "CNY".
	Currency string
	// BadFraction is the fraction of messages replaced by malformed ones, to exercise the
	// dead-letter path. Default 0; values above 1 mean 1.
	BadFraction float64
	// Disorder is the fraction of viewer heartbeats and engages delivered up to 3 s late (after
	// events with a later event time), as mobile clients do. Default 0.005; negative means none.
	Disorder float64

	// Scenarios names the fraud scenarios and legitimate surges to inject into the traffic, or
	// "all" for every one (see Scenarios and ParseScenarios; NewGenerator panics on an unknown
	// name). Order and repeats do not matter. Default none: the traffic is then exactly that of
	// a Config without these fields. Each scenario but surge_midnight takes over a stream of
	// its own, picked from the Seed, so at least that many Streams run.
	Scenarios []string
	// ScenarioOnset is how long after Start the scenarios begin. Default 5 min; negative means
	// at Start. With surge_midnight, unless a local midnight falls in the first half of the
	// run, Start is moved back to ScenarioOnset (at most half the Duration) before the last
	// local midnight at or before it (so, the onset permitting, every scenario begins then).
	ScenarioOnset time.Duration
	// ScenarioDuration is how long each scenario lasts. Default per scenario (see Scenarios):
	// 10 min; 20 min for order_brushing, 15 min for surge_celebrity, 5 min for
	// surge_flash_sale; surge_midnight lasts the curve's 30 min whatever it is set to. When
	// onset and duration overrun Duration both are scaled down to end with the run (but no
	// episode is shorter than a second).
	ScenarioDuration time.Duration
	// ScenarioCopies is how many streams each scenario but surge_midnight takes over, each
	// with its own draws (for a benchmark that wants many flags). Default 1.
	ScenarioCopies int
}

const (
	defaultStreams  = 50
	defaultRate     = 2000
	defaultDuration = 10 * time.Minute
	defaultDisorder = 0.005
	defaultCurrency = "CNY"
	defaultOnset    = 5 * time.Minute
)

// withDefaults fills in the documented defaults.
func (c Config) withDefaults() Config {
	if c.Streams <= 0 {
		c.Streams = defaultStreams
	}
	if c.Rate <= 0 {
		c.Rate = defaultRate
	}
	if c.Start.IsZero() {
		c.Start = time.Now().Truncate(time.Second)
	}
	if c.Duration <= 0 {
		c.Duration = defaultDuration
	}
	if c.Location == nil {
		c.Location = shanghai()
	}
	if c.Currency == "" {
		c.Currency = defaultCurrency
	}
	c.BadFraction = min(max(c.BadFraction, 0), 1)
	switch {
	case c.Disorder == 0:
		c.Disorder = defaultDisorder
	case c.Disorder < 0:
		c.Disorder = 0
	}
	c.Disorder = min(c.Disorder, 1)
	switch {
	case c.ScenarioOnset == 0:
		c.ScenarioOnset = defaultOnset
	case c.ScenarioOnset < 0:
		c.ScenarioOnset = 0
	}
	if len(c.Scenarios) > 0 {
		names, err := ParseScenarios(c.Scenarios...)
		if err != nil {
			panic("simulate: " + err.Error())
		}
		c.Scenarios = names
		c.ScenarioCopies = max(c.ScenarioCopies, 1)
		c.Streams = max(c.Streams, c.ScenarioCopies*streamsNeeded(names))
		if slices.Contains(names, ScenarioSurgeMidnight) {
			c.Start = alignMidnight(c.Start, c.Duration, c.ScenarioOnset, c.Location)
		}
	} else {
		c.Scenarios = nil
	}
	return c
}

// shanghai returns Asia/Shanghai, or an equivalent fixed zone (China has had no DST since 1991)
// when the tz database is not installed.
func shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}
