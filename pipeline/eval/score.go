package eval

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/simulate"
)

// Flag is one flag (episode) as stored in anomaly_flags: its last version (FINAL), and the
// earliest detected_at among its versions (its first emission).
type Flag struct {
	FlagID   string  `json:"flag_id"`
	Kind     string  `json:"kind"`
	StreamID string  `json:"stream_id"`
	Severity string  `json:"severity"`
	Score    float64 `json:"score"`
	State    string  `json:"state"`
	// WindowStart and WindowEnd bound the episode's evidence (the last version's, the widest).
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// FirstDetected is the event time of the flag's first emission: min(detected_at) over its
	// versions.
	FirstDetected time.Time `json:"first_detected"`
	// Fired names the signals of the peak evidence.
	Fired []string `json:"fired,omitempty"`
}

// Outcome is what one seed's run produced: the ground truth and the flags, with run figures.
type Outcome struct {
	Seed   int64            `json:"seed"`
	Labels []simulate.Label `json:"-"`
	// Evident is, per label, the event time of the first stored event carrying its anomaly (see
	// evidenceTimes); nil or a zero time: the onset.
	Evident []time.Time `json:"-"`
	// Early is, per label, how many of those events came within EarlyWindow of the onset (−1:
	// not counted).
	Early []int64 `json:"-"`
	Flags []Flag  `json:"-"`
	// Start is the event time the run started at.
	Start time.Time `json:"start"`
	// Messages and Streams are the simulator's counts (messages produced, distinct streams).
	Messages int64 `json:"messages"`
	Streams  int64 `json:"streams"`
	// Late counts viewer events the pipeline stored as late (a replay should have none).
	Late int64 `json:"late_events"`
	// Elapsed is the wall time of the run (broker, store, simulation, pipeline, read back).
	Elapsed time.Duration `json:"-"`
	// ReplayMismatches lists flags that differ between the live run and its replay
	// (Config.Replay); empty when they agree.
	ReplayMismatches []string `json:"replay_mismatches,omitempty"`
}

// Flag classes of Match.Class: why a flag is (not) a true positive.
const (
	ClassTrue       = "true"        // a fraud label of its kind names its stream, overlapping in time
	ClassFraudOther = "fraud_other" // on a fraud stream, but of another kind or outside the episode (+grace)
	ClassSurge      = "surge"       // on a stream of a legitimate surge
	ClassClean      = "clean"       // on a stream no label names
)

// Report is the evaluation of one or more seeds' runs. Times are event time; durations in
// JSON are seconds.
type Report struct {
	Seeds     []int64  `json:"seeds"`
	Streams   int      `json:"streams"`
	Rate      float64  `json:"rate"`
	DurationS float64  `json:"duration_s"`
	Scenarios []string `json:"scenarios"`
	GraceS    float64  `json:"grace_s"`

	// Kinds: per fraud kind, the labels and the flags of that kind.
	Kinds []KindStats `json:"kinds"`
	// ScenarioStats: per scenario (fraud or surge), its labels, detections and flags on its streams.
	ScenarioStats []ScenarioStats `json:"scenario_stats"`

	// SurgeFlags counts flags on streams of legitimate surges (surge_celebrity,
	// surge_flash_sale), any kind, any time; CleanFlags flags on streams no label names;
	// FraudOtherFlags false positives on fraud streams (another kind, or outside the episode).
	SurgeFlags      int `json:"surge_flags"`
	CleanFlags      int `json:"clean_flags"`
	FraudOtherFlags int `json:"fraud_other_flags"`
	// ImpliedFlags counts flags matching, instead of a label of their kind, an anomaly a fraud
	// label implies (simulate.Label.Implies: a brushing ring's refunds spiking its SKU's refund
	// rate). They are true positives for precision; they detect no label.
	ImpliedFlags int `json:"implied_flags"`
	// SurgeStreams and CleanStreams are how many such streams the runs had (summed over seeds).
	SurgeStreams int `json:"surge_streams"`
	CleanStreams int `json:"clean_streams"`
	// MidnightCleanFlags: of CleanFlags, those overlapping the surge_midnight window, which
	// covers every stream (0 without surge_midnight).
	MidnightCleanFlags int `json:"midnight_clean_flags"`

	Runs           []Outcome  `json:"runs"`
	Misses         []Miss     `json:"misses"`
	FalsePositives []FlagNote `json:"false_positives"`
}

// KindStats is the score of one fraud kind.
type KindStats struct {
	Kind     string `json:"kind"`
	Labels   int    `json:"labels"`   // fraud labels of the kind
	Detected int    `json:"detected"` // ...with at least one matching flag
	Flags    int    `json:"flags"`    // flags of the kind
	TP       int    `json:"tp"`       // ...matching a label
	FP       int    `json:"fp"`       // ...matching none
	// Precision is TP/Flags (1 when there are no flags); Recall Detected/Labels (1 without labels).
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	// TTF lists the time-to-flag of every detected label (first matching emission − onset),
	// sorted; TTFMedian and TTFMax summarize it (0 when none).
	TTF       []float64 `json:"ttf_s"`
	TTFMedian float64   `json:"ttf_median_s"`
	TTFMax    float64   `json:"ttf_max_s"`
	// TTFEvidence is the time-to-flag from the first event carrying the anomaly instead of the
	// onset (Outcome.Evident): the detectors' own delay, without the time the fraud takes to show
	// (the refunds of a refund spike come minutes after its orders).
	TTFEvidence       []float64 `json:"ttf_evidence_s"`
	TTFEvidenceMedian float64   `json:"ttf_evidence_median_s"`
	// Early lists, for every label of the kind, the events carrying its anomaly in the first
	// EarlyWindow after the onset (refunds of the episode's orders, orders of the ring, inflated
	// counts, bot sessions' events), sorted: what any detector has to go on by then.
	Early []int64 `json:"early_evidence"`
}

// ScenarioStats is the score of one scenario: for a fraud, its labels detected; for any, the
// flags raised on its streams.
type ScenarioStats struct {
	Scenario string `json:"scenario"`
	Kind     string `json:"kind,omitempty"`
	Fraud    bool   `json:"fraud"`
	Labels   int    `json:"labels"`
	Detected int    `json:"detected"`
	// Flags on the scenario's streams (surge_midnight: none, it has no stream of its own):
	// matching ones (TP) and the others.
	TPFlags    int       `json:"tp_flags"`
	OtherFlags int       `json:"other_flags"`
	TTF        []float64 `json:"ttf_s,omitempty"`
	TTFMedian  float64   `json:"ttf_median_s"`
	TTFMax     float64   `json:"ttf_max_s"`
}

// Miss is a fraud label no flag matched.
type Miss struct {
	Seed     int64  `json:"seed"`
	Scenario string `json:"scenario"`
	Kind     string `json:"kind"`
	StreamID string `json:"stream_id"`
	// Flags lists the flags raised on the stream anyway (another kind, or outside the episode).
	Flags []string `json:"flags,omitempty"`
}

// FlagNote describes a false positive.
type FlagNote struct {
	Seed  int64  `json:"seed"`
	Class string `json:"class"`
	// Scenario names the label of the flag's stream ("" on a clean stream).
	Scenario string `json:"scenario,omitempty"`
	Flag
	// FromOnset: the flag's window and first detection relative to the stream label's onset
	// (or, on clean streams, to the run's start), seconds.
	WindowStartS   float64 `json:"window_start_s"`
	WindowEndS     float64 `json:"window_end_s"`
	FirstDetectedS float64 `json:"first_detected_s"`
}

// Targets are the thresholds Report.Check asserts.
type Targets struct {
	Precision float64       // least precision per kind
	Recall    float64       // least recall per kind
	MedianTTF time.Duration // greatest median time-to-flag per kind (event time)
	// SurgeFlags and CleanFlags are the most flags allowed on surge and clean streams.
	SurgeFlags, CleanFlags int
}

// DefaultTargets are the project's targets: precision and recall ≥ 0.95 per kind, median
// time-to-flag ≤ 60 s, no flag on surge or clean streams.
func DefaultTargets() Targets {
	return Targets{Precision: 0.95, Recall: 0.95, MedianTTF: 60 * time.Second}
}

// Score matches each outcome's flags to its labels. A flag is a true positive when a fraud
// label of the same kind names its stream and [WindowStart, WindowEnd] overlaps
// [Onset, End+grace]; otherwise a false positive, classed by its stream (ClassFraudOther,
// ClassSurge, ClassClean). A label is detected when at least one flag matches it; its
// time-to-flag is the earliest FirstDetected of its matching flags minus its onset.
func Score(outcomes []Outcome, grace time.Duration) Report {
	rep := Report{GraceS: grace.Seconds(), Misses: []Miss{}, FalsePositives: []FlagNote{}}
	kinds := map[string]*KindStats{}
	kindOf := func(k string) *KindStats {
		if kinds[k] == nil {
			kinds[k] = &KindStats{Kind: k, TTF: []float64{}}
		}
		return kinds[k]
	}
	scen := map[string]*ScenarioStats{}
	for _, info := range simulate.Scenarios() {
		scen[info.Name] = &ScenarioStats{Scenario: info.Name, Kind: info.Kind, Fraud: info.Fraud}
	}
	scenOf := func(l simulate.Label) *ScenarioStats {
		if scen[l.Scenario] == nil {
			scen[l.Scenario] = &ScenarioStats{Scenario: l.Scenario, Kind: l.Kind, Fraud: l.Fraud}
		}
		return scen[l.Scenario]
	}
	usedScen := map[string]bool{}
	for _, o := range outcomes {
		rep.Seeds = append(rep.Seeds, o.Seed)
		rep.Runs = append(rep.Runs, o)
		byStream := map[string][]int{} // stream → indexes of the labels naming it
		var midnight []simulate.Label
		labelled := 0
		for i, l := range o.Labels {
			usedScen[l.Scenario] = true
			scenOf(l).Labels++
			if l.Fraud {
				kindOf(l.Kind).Labels++
			}
			if l.StreamID == "" {
				midnight = append(midnight, l)
				continue
			}
			if len(byStream[l.StreamID]) == 0 {
				labelled++
			}
			byStream[l.StreamID] = append(byStream[l.StreamID], i)
			if !l.Fraud {
				rep.SurgeStreams++
			}
		}
		rep.CleanStreams += max(int(o.Streams)-labelled, 0)
		first := make([]time.Time, len(o.Labels)) // earliest matching detection per label
		hit := make([]bool, len(o.Labels))
		for _, f := range o.Flags {
			ks := kindOf(f.Kind)
			ks.Flags++
			matched, implied := false, false
			for _, i := range byStream[f.StreamID] {
				l := o.Labels[i]
				if !l.Fraud || !overlaps(f, l, grace) {
					continue
				}
				if l.Kind != f.Kind {
					if slices.Contains(l.Implies, f.Kind) && !matched {
						matched, implied = true, true
					}
					continue
				}
				matched, implied = true, false
				if !hit[i] || f.FirstDetected.Before(first[i]) {
					first[i] = f.FirstDetected
				}
				hit[i] = true
			}
			// The scenario of the stream (the first label naming it).
			var sl *simulate.Label
			if ix := byStream[f.StreamID]; len(ix) > 0 {
				sl = &o.Labels[ix[0]]
				if matched {
					scenOf(*sl).TPFlags++
				} else {
					scenOf(*sl).OtherFlags++
				}
			}
			if matched {
				ks.TP++
				if implied {
					rep.ImpliedFlags++
				}
				continue
			}
			ks.FP++
			note := FlagNote{Seed: o.Seed, Flag: f}
			ref := o.Start
			switch {
			case sl == nil:
				note.Class = ClassClean
				rep.CleanFlags++
				for _, m := range midnight {
					if overlaps(f, m, 0) {
						rep.MidnightCleanFlags++
						break
					}
				}
			case hasFraud(o.Labels, byStream[f.StreamID]):
				note.Class, note.Scenario, ref = ClassFraudOther, sl.Scenario, sl.Onset
				rep.FraudOtherFlags++
			default:
				note.Class, note.Scenario, ref = ClassSurge, sl.Scenario, sl.Onset
				rep.SurgeFlags++
			}
			note.WindowStartS = f.WindowStart.Sub(ref).Seconds()
			note.WindowEndS = f.WindowEnd.Sub(ref).Seconds()
			note.FirstDetectedS = f.FirstDetected.Sub(ref).Seconds()
			rep.FalsePositives = append(rep.FalsePositives, note)
		}
		for i, l := range o.Labels {
			if !l.Fraud {
				continue
			}
			if i < len(o.Early) && o.Early[i] >= 0 {
				kindOf(l.Kind).Early = append(kindOf(l.Kind).Early, o.Early[i])
			}
			if !hit[i] {
				m := Miss{Seed: o.Seed, Scenario: l.Scenario, Kind: l.Kind, StreamID: l.StreamID}
				for _, f := range o.Flags {
					if f.StreamID == l.StreamID {
						m.Flags = append(m.Flags, fmt.Sprintf("%s %s [%+.0fs, %+.0fs] first %+.0fs", f.Kind, f.State,
							f.WindowStart.Sub(l.Onset).Seconds(), f.WindowEnd.Sub(l.Onset).Seconds(), f.FirstDetected.Sub(l.Onset).Seconds()))
					}
				}
				rep.Misses = append(rep.Misses, m)
				continue
			}
			ttf := first[i].Sub(l.Onset).Seconds()
			evident := l.Onset
			if i < len(o.Evident) && !o.Evident[i].IsZero() {
				evident = o.Evident[i]
			}
			ks := kindOf(l.Kind)
			ks.Detected++
			ks.TTF = append(ks.TTF, ttf)
			ks.TTFEvidence = append(ks.TTFEvidence, first[i].Sub(evident).Seconds())
			ss := scenOf(l)
			ss.Detected++
			ss.TTF = append(ss.TTF, ttf)
		}
	}
	for _, ks := range kinds {
		ks.Precision, ks.Recall = ratio(ks.TP, ks.Flags), ratio(ks.Detected, ks.Labels)
		slices.Sort(ks.TTF)
		ks.TTFMedian, ks.TTFMax = median(ks.TTF), maxOf(ks.TTF)
		slices.Sort(ks.TTFEvidence)
		slices.Sort(ks.Early)
		ks.TTFEvidenceMedian = median(ks.TTFEvidence)
		rep.Kinds = append(rep.Kinds, *ks)
	}
	slices.SortFunc(rep.Kinds, func(a, b KindStats) int {
		return cmp.Or(cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), cmp.Compare(a.Kind, b.Kind))
	})
	for _, info := range simulate.Scenarios() {
		if ss := scen[info.Name]; usedScen[info.Name] || ss.TPFlags+ss.OtherFlags > 0 {
			slices.Sort(ss.TTF)
			ss.TTFMedian, ss.TTFMax = median(ss.TTF), maxOf(ss.TTF)
			rep.ScenarioStats = append(rep.ScenarioStats, *ss)
		}
		delete(scen, info.Name)
	}
	for _, ss := range scen { // scenarios unknown to this simulator version
		slices.Sort(ss.TTF)
		ss.TTFMedian, ss.TTFMax = median(ss.TTF), maxOf(ss.TTF)
		rep.ScenarioStats = append(rep.ScenarioStats, *ss)
	}
	slices.SortStableFunc(rep.FalsePositives, func(a, b FlagNote) int {
		return cmp.Or(cmp.Compare(a.Seed, b.Seed), cmp.Compare(a.Class, b.Class), a.FirstDetected.Compare(b.FirstDetected))
	})
	return rep
}

// overlaps says whether f's window [WindowStart, WindowEnd] meets [Onset, End+grace].
func overlaps(f Flag, l simulate.Label, grace time.Duration) bool {
	return !f.WindowStart.After(l.End.Add(grace)) && !f.WindowEnd.Before(l.Onset)
}

func hasFraud(labels []simulate.Label, ix []int) bool {
	for _, i := range ix {
		if labels[i].Fraud {
			return true
		}
	}
	return false
}

func kindRank(k string) int {
	switch k {
	case detectors.KindViewerInflation:
		return 0
	case detectors.KindRefundSpike:
		return 1
	case detectors.KindOrderBrushing:
		return 2
	}
	return 3
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

// median of sorted xs (the mean of the middle two for an even count); 0 when empty.
func median(xs []float64) float64 {
	n := len(xs)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func maxOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Max(xs)
}

// Check returns nil when r meets t, else an error naming every missed target. Recall and
// time-to-flag are checked for each kind with labels, precision for each kind with flags.
func (r Report) Check(t Targets) error {
	var errs []error
	for _, k := range r.Kinds {
		if k.Labels > 0 && k.Recall < t.Recall {
			errs = append(errs, fmt.Errorf("%s: recall %.3f < %.2f (%d of %d labels flagged)", k.Kind, k.Recall, t.Recall, k.Detected, k.Labels))
		}
		if k.Flags > 0 && k.Precision < t.Precision {
			errs = append(errs, fmt.Errorf("%s: precision %.3f < %.2f (%d of %d flags match a label)", k.Kind, k.Precision, t.Precision, k.TP, k.Flags))
		}
		if k.Detected > 0 && k.TTFMedian > t.MedianTTF.Seconds() {
			errs = append(errs, fmt.Errorf("%s: median time-to-flag %s > %s", k.Kind, secs(k.TTFMedian), t.MedianTTF))
		}
	}
	if r.SurgeFlags > t.SurgeFlags {
		errs = append(errs, fmt.Errorf("%d flags on surge streams > %d", r.SurgeFlags, t.SurgeFlags))
	}
	if r.CleanFlags > t.CleanFlags {
		errs = append(errs, fmt.Errorf("%d flags on clean streams > %d", r.CleanFlags, t.CleanFlags))
	}
	return errors.Join(errs...)
}

// JSON returns r as one line of JSON.
func (r Report) JSON() ([]byte, error) { return json.Marshal(r) }

// MarshalJSON adds the run's wall time in seconds to an Outcome.
func (o Outcome) MarshalJSON() ([]byte, error) {
	type plain Outcome
	return json.Marshal(struct {
		plain
		Labels   int     `json:"labels"`
		Flags    int     `json:"flags"`
		ElapsedS float64 `json:"elapsed_s"`
	}{plain(o), len(o.Labels), len(o.Flags), math.Round(o.Elapsed.Seconds()*10) / 10})
}

// Table returns the report for people: per kind, per scenario, the false positives and misses.
func (r Report) Table() string {
	var b strings.Builder
	seeds := make([]string, len(r.Seeds))
	for i, s := range r.Seeds {
		seeds[i] = fmt.Sprint(s)
	}
	fmt.Fprintf(&b, "seeds %s · %d streams · rate %g/s · %s of event time · scenarios %s · grace %s\n\n",
		strings.Join(seeds, ","), r.Streams, r.Rate, secs(r.DurationS), strings.Join(r.Scenarios, ","), secs(r.GraceS))
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "KIND\tLABELS\tFLAGGED\tFLAGS\tTP\tFP\tPRECISION\tRECALL\tTTF MEDIAN\tTTF MAX\tFROM EVIDENCE\tEVIDENCE IN "+
		strings.ToUpper(secs(EarlyWindow.Seconds()))+"\t")
	for _, k := range r.Kinds {
		prec := "-"
		if k.Flags > 0 {
			prec = fmt.Sprintf("%.3f", k.Precision)
		}
		rec := "-"
		if k.Labels > 0 {
			rec = fmt.Sprintf("%.3f", k.Recall)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", k.Kind, k.Labels, k.Detected, k.Flags, k.TP, k.FP,
			prec, rec, ttf(k.TTFMedian, k.Detected), ttf(k.TTFMax, k.Detected), ttf(k.TTFEvidenceMedian, k.Detected), earlyRange(k.Early))
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SCENARIO\tKIND\tLABELS\tFLAGGED\tTP FLAGS\tOTHER FLAGS\tTTF MEDIAN\tTTF MAX\t")
	for _, s := range r.ScenarioStats {
		kind, labels, det := s.Kind, fmt.Sprint(s.Labels), fmt.Sprint(s.Detected)
		if !s.Fraud {
			kind, det = "(surge)", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t\n", s.Scenario, kind, labels, det, s.TPFlags, s.OtherFlags,
			ttf(s.TTFMedian, s.Detected), ttf(s.TTFMax, s.Detected))
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nflags on surge streams: %d (%d streams) · on clean streams: %d (%d streams",
		r.SurgeFlags, r.SurgeStreams, r.CleanFlags, r.CleanStreams)
	if r.MidnightCleanFlags > 0 {
		fmt.Fprintf(&b, "; %d during surge_midnight", r.MidnightCleanFlags)
	}
	fmt.Fprintf(&b, ") · on fraud streams, unmatched: %d, implied by their fraud: %d\n", r.FraudOtherFlags, r.ImpliedFlags)
	for _, o := range r.Runs {
		fmt.Fprintf(&b, "seed %d: start %s, %d messages, %d streams, %d labels, %d flags, %d late events, %.1fs wall\n",
			o.Seed, o.Start.UTC().Format(time.RFC3339), o.Messages, o.Streams, len(o.Labels), len(o.Flags), o.Late, o.Elapsed.Seconds())
	}
	if len(r.FalsePositives) > 0 {
		b.WriteString("\nfalse positives (times from the stream's onset, or the run's start on clean streams):\n")
		for _, n := range r.FalsePositives {
			on := n.Class
			if n.Scenario != "" {
				on += " (" + n.Scenario + ")"
			}
			fmt.Fprintf(&b, "  seed %d %s on %s stream %s: %s score %.2f, window [%+.0fs, %+.0fs], first %+.0fs, %s; fired %s\n",
				n.Seed, n.Kind, on, n.StreamID, n.Severity, n.Score, n.WindowStartS, n.WindowEndS, n.FirstDetectedS, n.State, strings.Join(n.Fired, ","))
		}
	}
	if len(r.Misses) > 0 {
		b.WriteString("\nmissed (fraud labels no flag matched):\n")
		for _, m := range r.Misses {
			fmt.Fprintf(&b, "  seed %d %s (%s) on stream %s", m.Seed, m.Scenario, m.Kind, m.StreamID)
			if len(m.Flags) > 0 {
				fmt.Fprintf(&b, "; flags there (from onset): %s", strings.Join(m.Flags, "; "))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func ttf(s float64, n int) string {
	if n == 0 {
		return "-"
	}
	return secs(s)
}

// earlyRange formats the early evidence counts of a kind's labels: "0–1 (median 0)".
func earlyRange(xs []int64) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%d–%d (median %d)", xs[0], xs[len(xs)-1], xs[len(xs)/2])
}

// secs formats seconds as a duration ("45s", "1m30s", "40m").
func secs(s float64) string {
	d := time.Duration(math.Round(s*10)) * 100 * time.Millisecond // float tenths print as 4m29.399999999s
	str := d.String()
	if strings.HasSuffix(str, "m0s") {
		str = str[:len(str)-2]
	}
	if strings.HasSuffix(str, "h0m") {
		str = str[:len(str)-2]
	}
	return str
}
