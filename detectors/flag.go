package detectors

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"

	"github.com/livepulse/livepulse/schemas"
)

// Kinds of anomaly, in the order the Engine evaluates them.
const (
	KindViewerInflation = "viewer_inflation"
	KindRefundSpike     = "refund_spike"
	KindOrderBrushing   = "order_brushing"
)

// Severity of a flag, from its score (Config.Severity).
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

func (s Severity) rank() int {
	switch s {
	case SeverityWarning:
		return 1
	case SeverityCritical:
		return 2
	}
	return 0
}

// severityOf maps a score to its severity.
func (c SeverityConfig) of(score float64) Severity {
	switch {
	case score >= c.Critical:
		return SeverityCritical
	case score >= c.Warning:
		return SeverityWarning
	}
	return SeverityInfo
}

// Flag states.
const (
	StateOpen   = "open"
	StateClosed = "closed"
)

// Flag is one anomaly episode of one kind on one stream, as emitted by Engine.Advance: when it
// opens, each time it changes materially while open, and once when it closes. Consumers keep the
// last emission per FlagID. All times are event time, Unix milliseconds.
type Flag struct {
	// FlagID is deterministic: a hash of kind, stream and the episode's start (the evaluation
	// that opened it), so a replay of the same events gives the same ids.
	FlagID   string   `json:"flag_id"`
	Kind     string   `json:"kind"`
	StreamID string   `json:"stream_id"`
	KOLID    string   `json:"kol_id"`
	BrandID  string   `json:"brand_id"`
	Platform string   `json:"platform"`
	Severity Severity `json:"severity"`
	// Score in [0, 1]: the episode's peak. Severity, and Evidence, are those of the peak.
	Score float64 `json:"score"`
	// WindowStart is the start of the earliest evidence of the episode; WindowEnd the end of the
	// last anomalous evaluation window (the evaluation time; exclusive).
	WindowStart int64 `json:"window_start"`
	WindowEnd   int64 `json:"window_end"`
	// DetectedAt is the evaluation time (the watermark step) of this emission: when the flag
	// opened, was updated, or closed.
	DetectedAt int64    `json:"detected_at"`
	State      string   `json:"state"`
	Evidence   Evidence `json:"evidence"`
}

// Evidence explains a finding: in words, and as numbers.
type Evidence struct {
	// Summary is what was observed against the baseline, for people ("displayed 48,000 viewers;
	// 5,120 measured sessions, 61 % of them from 25 devices…"), ending with the signals that fired.
	Summary string `json:"summary"`
	// Fired names the signals that fired, most important first.
	Fired []string `json:"fired"`
	// Signals holds the observed values by name; Baseline the values they are compared with (the
	// stream's own history, or the configured thresholds).
	Signals  map[string]float64 `json:"signals"`
	Baseline map[string]float64 `json:"baseline"`
}

func (e Evidence) clone() Evidence {
	e.Fired = slices.Clone(e.Fired)
	e.Signals = maps.Clone(e.Signals)
	e.Baseline = maps.Clone(e.Baseline)
	return e
}

// Finding is one stream found anomalous by one evaluation of a detector.
type Finding struct {
	StreamID string
	Score    float64 // 0–1
	Severity Severity
	// WindowStart is the time of the earliest evidence considered (≥ the evaluation window's
	// start); WindowEnd the evaluation time.
	WindowStart, WindowEnd int64
	Evidence               Evidence
}

// Detector finds one kind of anomaly in the streams of one partition. It is not safe for
// concurrent use.
//
// The Engine drives it in event time: for each evaluation time t (every multiple of
// Config.EvaluateEvery), it first passes Observe every event with a time before t not passed yet,
// in arrival order, then calls Evaluate(t). So a detector's state at Evaluate(t) is a function of
// the events before t, whatever the cadence of Engine.Advance. A detector must forget a stream
// that had no event for Config.StreamIdle (its state changes nothing afterwards), and keep its
// state bounded otherwise.
type Detector interface {
	Kind() string
	// Observe counts one event (viewer, order or refund) of the partition's streams.
	Observe(ev *schemas.Event)
	// Evaluate returns the streams anomalous at t, judging only events before t. It is called for
	// every step in order while the detector holds any stream.
	Evaluate(t int64) []Finding
}

// flagID hashes kind, stream and episode start into a stable 32-hex-digit id.
func flagID(kind, stream string, start int64) string {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(stream))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, start, 10))
	return hex.EncodeToString(h.Sum(nil)[:16])
}
