// Package window tracks event-time progress: the watermark, the event time up to which the
// pipeline assumes it has seen every event. Each source (one partition of one topic) reports the
// event times it reads; the watermark trails the slowest source by a bounded out-of-orderness, so
// an event at most MaxOutOfOrder behind its source's newest event is never behind the watermark.
//
// A source that stops receiving events (an empty partition, a quiet refund topic) would hold the
// watermark back forever, so after IdleTimeout of wall-clock silence it stops counting until it
// reads again. The watermark never goes backwards: downstream stages close minutes on it, and a
// source that wakes up with old event times only makes its events late, it cannot reopen time.
package window

import (
	"math"
	"sync"
	"time"
)

// Config configures Watermarks. The zero value means the documented defaults.
type Config struct {
	// MaxOutOfOrder is the bounded out-of-orderness: how far behind its source's newest event an
	// event may be and still be ahead of the watermark. Default 5 s.
	MaxOutOfOrder time.Duration
	// IdleTimeout: a source with no event for this long (wall clock) stops holding the watermark
	// back. Default 10 s.
	IdleTimeout time.Duration
}

const (
	defaultMaxOutOfOrder = 5 * time.Second
	defaultIdleTimeout   = 10 * time.Second
)

// WithDefaults returns c with every zero or negative field replaced by its default.
func (c Config) WithDefaults() Config {
	if c.MaxOutOfOrder <= 0 {
		c.MaxOutOfOrder = defaultMaxOutOfOrder
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = defaultIdleTimeout
	}
	return c
}

// SourceKey names one source of events: a partition of a topic.
type SourceKey struct {
	Topic     string
	Partition int32
}

// source is what Watermarks knows about one SourceKey.
type source struct {
	maxTS    int64     // newest event time read, Unix ms
	lastSeen time.Time // wall clock of the last Observe, for idleness
	behind   bool      // the last event read was not the partition's newest: more is waiting
}

// Watermarks combines the event-time progress of several sources into one watermark. It is safe
// for concurrent use: every partition goroutine reports to the same instance.
type Watermarks struct {
	mu       sync.Mutex
	lag      int64 // MaxOutOfOrder in ms
	idle     time.Duration
	sources  map[SourceKey]*source
	returned int64 // highest watermark returned so far: the result never decreases
	cache    cached
}

// cached is the last computation of the watermark. Every event asks for the watermark, and
// between two computations most events change nothing in it: they raise the newest event time of
// a source that is not the slowest. So the result is kept while valid: nothing it depends on has
// changed (see ObserveBacklog), for wall times from at up to before until, the first instant an
// active source would go idle.
type cached struct {
	valid     bool
	at, until time.Time
	forever   bool  // no active source can go idle: until does not apply
	active    bool  // some source was active: the result was activeMin
	activeMin int64 // the slowest active source's newest event time minus the lag
}

// New returns an empty Watermarks: its watermark is math.MinInt64 until a source reports.
func New(cfg Config) *Watermarks {
	cfg = cfg.WithDefaults()
	return &Watermarks{
		lag:      cfg.MaxOutOfOrder.Milliseconds(),
		idle:     cfg.IdleTimeout,
		sources:  make(map[SourceKey]*source),
		returned: math.MinInt64,
	}
}

// Register announces src (its partition was just assigned) before it reads anything. With a
// backlog it holds the watermark back until it reads, however long that takes, so a partition
// that starts later than the others cannot find its whole backlog late; without one it is idle
// after IdleTimeout like any quiet source.
func (w *Watermarks) Register(src SourceKey, wallNow time.Time, backlog bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cache.valid = false
	s := w.sources[src]
	switch {
	case s == nil:
		w.sources[src] = &source{maxTS: math.MinInt64, lastSeen: wallNow, behind: backlog}
	case s.maxTS == math.MinInt64: // announced, not read yet: the better-informed call wins
		s.behind, s.lastSeen = backlog, wallNow
	}
}

// Observe records that src read an event at tsMS (Unix ms) at wall time wallNow. An event older
// than the source's newest one still proves the source is alive.
func (w *Watermarks) Observe(src SourceKey, tsMS int64, wallNow time.Time) {
	w.ObserveBacklog(src, tsMS, wallNow, false)
}

// ObserveBacklog is Observe for a source that knows whether more events are waiting behind this
// one (Kafka: offset+1 < high watermark). A source with a backlog is never idle: when the store
// stalls and reading pauses, its silence is backpressure, not idleness, and treating it as idle
// would make its waiting events late.
func (w *Watermarks) ObserveBacklog(src SourceKey, tsMS int64, wallNow time.Time, backlog bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.sources[src]
	if s == nil {
		s = &source{maxTS: tsMS}
		w.sources[src] = s
		w.cache.valid = false
	}
	c := &w.cache
	// The cached result stands if the source counted in it, among active sources, and was not
	// the slowest one or stays as slow.
	if c.valid && !(c.active && (s.behind || c.at.Sub(s.lastSeen) < w.idle) &&
		(tsMS <= s.maxTS || subSat(s.maxTS, w.lag) > c.activeMin)) {
		c.valid = false
	}
	s.maxTS = max(s.maxTS, tsMS)
	s.behind = backlog
	if wallNow.After(s.lastSeen) {
		s.lastSeen = wallNow
	}
	if c.valid && !s.behind { // it goes idle at lastSeen + idle now
		if until := s.lastSeen.Add(w.idle); c.forever || until.Before(c.until) {
			c.until, c.forever = until, false
		}
	}
}

// Watermark returns the current watermark (Unix ms): the minimum over active sources of their
// newest event time minus MaxOutOfOrder. Sources idle for IdleTimeout are left out; when all are
// idle, the maximum over all of them is used instead (nothing is arriving, so nothing can be
// behind the newest event). It is math.MinInt64 until some source has reported, and it never
// decreases, whatever sources come, go or wake up.
func (w *Watermarks) Watermark(wallNow time.Time) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := &w.cache
	if c.valid && !wallNow.Before(c.at) && (c.forever || wallNow.Before(c.until)) {
		return w.returned
	}
	*c = cached{valid: true, at: wallNow, forever: true}
	activeMin, allMax := int64(math.MaxInt64), int64(math.MinInt64)
	active := false
	for _, s := range w.sources {
		v := subSat(s.maxTS, w.lag)
		allMax = max(allMax, v)
		if s.behind || wallNow.Sub(s.lastSeen) < w.idle {
			active = true
			activeMin = min(activeMin, v)
			if until := s.lastSeen.Add(w.idle); !s.behind && (c.forever || until.Before(c.until)) {
				c.until, c.forever = until, false
			}
		}
	}
	c.active, c.activeMin = active, activeMin
	var wm int64
	switch {
	case active:
		wm = activeMin
	case len(w.sources) > 0:
		wm = allMax
	default:
		wm = math.MinInt64
	}
	w.returned = max(w.returned, wm)
	return w.returned
}

// Remove forgets src (its partition was revoked): it no longer holds the watermark back. The
// watermark already returned stays.
func (w *Watermarks) Remove(src SourceKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cache.valid = false
	delete(w.sources, src)
}

// subSat returns a-b without wrapping below math.MinInt64 (b ≥ 0).
func subSat(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}
