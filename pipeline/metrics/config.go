package metrics

import "time"

// Config configures a Shard. The zero value means the documented defaults; so does any zero or
// negative field.
type Config struct {
	// AllowedLateness: a minute is first emitted when the watermark passes its end; events up to
	// AllowedLateness after that still correct it (it is emitted again). Later ones are late:
	// counted in late_events of their minute's row (emitted again) but in no other figure.
	// Default 1 min.
	AllowedLateness time.Duration
	// SessionTimeout: a session without join, heartbeat or engage for this long has left. It stops
	// counting as concurrent at last_seen + SessionTimeout; its end is counted (sessions_ended,
	// watch_ms_ended) in the minute of last_seen, with watch time last_seen − join. Default 60 s.
	SessionTimeout time.Duration
	// ExactDistinct: distinct counters (buyers, unique viewers, refunded orders) are exact up to
	// this many values per minute, then switch to a HyperLogLog (precision 14: ~0.8 % standard
	// error). Default 4096.
	ExactDistinct int
	// OrderRetention: how long (event time, against the watermark) orders stay in memory for
	// refund attribution; older ones are looked up through OrderLookup. Default 24 h.
	OrderRetention time.Duration
	// StreamIdle: a stream with no event for this long (event time, against the watermark), no
	// open minute and no retained final row is forgotten, with its sessions. Default 30 min.
	StreamIdle time.Duration
	// LateRetention: how long (event time, after a minute became final) the final figures of a
	// row are kept so that a late event can emit the row again with late_events + 1. A late event
	// older than that cannot be counted in its row (re-emitting it without its figures would erase
	// them); ShardStats.LateDropped counts those. Default 10 min.
	LateRetention time.Duration
}

const (
	defaultAllowedLateness = time.Minute
	defaultSessionTimeout  = 60 * time.Second
	defaultExactDistinct   = 4096
	defaultOrderRetention  = 24 * time.Hour
	defaultStreamIdle      = 30 * time.Minute
	defaultLateRetention   = 10 * time.Minute
)

// WithDefaults returns c with every zero or negative field replaced by its default.
func (c Config) WithDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AllowedLateness, defaultAllowedLateness)
	def(&c.SessionTimeout, defaultSessionTimeout)
	def(&c.OrderRetention, defaultOrderRetention)
	def(&c.StreamIdle, defaultStreamIdle)
	def(&c.LateRetention, defaultLateRetention)
	if c.ExactDistinct <= 0 {
		c.ExactDistinct = defaultExactDistinct
	}
	return c
}

// params is Config in the units the hot path uses: milliseconds of event time.
type params struct {
	lateness, timeout, orderRetention, streamIdle, lateRetention int64
	exact                                                        int
}

func newParams(c Config) params {
	c = c.WithDefaults()
	return params{
		lateness:       c.AllowedLateness.Milliseconds(),
		timeout:        c.SessionTimeout.Milliseconds(),
		orderRetention: c.OrderRetention.Milliseconds(),
		streamIdle:     c.StreamIdle.Milliseconds(),
		lateRetention:  c.LateRetention.Milliseconds(),
		exact:          c.ExactDistinct,
	}
}
