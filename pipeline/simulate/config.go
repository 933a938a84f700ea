package simulate

import (
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
}

const (
	defaultStreams  = 50
	defaultRate     = 2000
	defaultDuration = 10 * time.Minute
	defaultDisorder = 0.005
	defaultCurrency = "CNY"
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
