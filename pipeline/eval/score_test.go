package eval

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/simulate"
)

var t0 = time.Date(2025, 11, 10, 15, 55, 0, 0, time.UTC)

func at(min, sec int) time.Time {
	return t0.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
}

func label(scenario, kind, stream string, onset, end time.Time) simulate.Label {
	return simulate.Label{Scenario: scenario, Kind: kind, Fraud: kind != "", StreamID: stream, Onset: onset, End: end}
}

func flag(id, kind, stream string, ws, we, first time.Time) Flag {
	return Flag{FlagID: id, Kind: kind, StreamID: stream, WindowStart: ws, WindowEnd: we, FirstDetected: first, State: "closed"}
}

// One seed with every case: matches, a flag of another kind and one after the grace on fraud
// streams, a miss, flags on a surge and a clean stream.
func TestScore(t *testing.T) {
	labels := []simulate.Label{
		label(simulate.ScenarioViewerInflationCount, "viewer_inflation", "s1", at(5, 0), at(15, 0)),
		label(simulate.ScenarioViewerInflationBots, "viewer_inflation", "s2", at(5, 0), at(15, 0)),
		label(simulate.ScenarioRefundSpike, "refund_spike", "s3", at(5, 0), at(15, 0)),
		label(simulate.ScenarioOrderBrushing, "order_brushing", "s4", at(5, 0), at(25, 0)),
		label(simulate.ScenarioSurgeMidnight, "", "", at(5, 0), at(35, 0)),
		label(simulate.ScenarioSurgeCelebrity, "", "s5", at(5, 0), at(20, 0)),
	}
	flags := []Flag{
		// s1: two episodes, both matching; the earlier first detection counts (30 s).
		flag("a", "viewer_inflation", "s1", at(0, 30), at(9, 0), at(5, 30)),
		flag("b", "viewer_inflation", "s1", at(12, 0), at(16, 0), at(12, 0)),
		// s1: after end + grace: a false positive on a fraud stream.
		flag("c", "viewer_inflation", "s1", at(20, 1), at(22, 0), at(20, 1)),
		// s2: matches within the grace only (starts after the end, before end + grace), first
		// detected 12 min after the onset.
		flag("d", "viewer_inflation", "s2", at(19, 0), at(21, 0), at(17, 0)),
		// s3: refund_spike matching, 60 s (the target, met); and a viewer_inflation there (wrong kind).
		flag("e", "refund_spike", "s3", at(4, 0), at(30, 0), at(6, 0)),
		flag("f", "viewer_inflation", "s3", at(6, 0), at(7, 0), at(7, 0)),
		// s4: a refund_spike on the brushing stream (wrong kind); brushing itself missed.
		flag("g", "refund_spike", "s4", at(10, 0), at(20, 0), at(12, 0)),
		// s5 (celebrity surge) and s9 (clean, during the midnight surge), s10 (clean, after it).
		flag("h", "viewer_inflation", "s5", at(6, 0), at(8, 0), at(7, 0)),
		flag("i", "order_brushing", "s9", at(30, 0), at(34, 0), at(34, 0)),
		flag("j", "refund_spike", "s10", at(36, 0), at(38, 0), at(38, 0)),
	}
	rep := Score([]Outcome{{Seed: 7, Start: t0, Labels: labels, Flags: flags, Streams: 10}}, 5*time.Minute)

	want := map[string]KindStats{
		"viewer_inflation": {Labels: 2, Detected: 2, Flags: 6, TP: 3, FP: 3, TTF: []float64{30, 720}, TTFMedian: 375, TTFMax: 720},
		"refund_spike":     {Labels: 1, Detected: 1, Flags: 3, TP: 1, FP: 2, TTF: []float64{60}, TTFMedian: 60, TTFMax: 60},
		"order_brushing":   {Labels: 1, Detected: 0, Flags: 1, TP: 0, FP: 1, TTF: []float64{}},
	}
	if len(rep.Kinds) != 3 || rep.Kinds[0].Kind != "viewer_inflation" || rep.Kinds[1].Kind != "refund_spike" || rep.Kinds[2].Kind != "order_brushing" {
		t.Fatalf("kinds %+v", rep.Kinds)
	}
	for _, k := range rep.Kinds {
		w := want[k.Kind]
		if k.Labels != w.Labels || k.Detected != w.Detected || k.Flags != w.Flags || k.TP != w.TP || k.FP != w.FP ||
			k.TTFMedian != w.TTFMedian || k.TTFMax != w.TTFMax || len(k.TTF) != len(w.TTF) {
			t.Errorf("%s: got %+v, want %+v", k.Kind, k, w)
		}
		for i := range w.TTF {
			if k.TTF[i] != w.TTF[i] {
				t.Errorf("%s: ttf %v, want %v", k.Kind, k.TTF, w.TTF)
			}
		}
		if k.Precision != float64(w.TP)/float64(w.Flags) || k.Recall != float64(w.Detected)/float64(w.Labels) {
			t.Errorf("%s: precision %v recall %v", k.Kind, k.Precision, k.Recall)
		}
	}
	if rep.SurgeFlags != 1 || rep.CleanFlags != 2 || rep.MidnightCleanFlags != 1 || rep.FraudOtherFlags != 3 {
		t.Errorf("surge %d clean %d (midnight %d) fraud-other %d, want 1 2 (1) 3", rep.SurgeFlags, rep.CleanFlags, rep.MidnightCleanFlags, rep.FraudOtherFlags)
	}
	if rep.SurgeStreams != 1 || rep.CleanStreams != 5 {
		t.Errorf("surge streams %d clean streams %d, want 1 and 5", rep.SurgeStreams, rep.CleanStreams)
	}
	classes := map[string]string{}
	for _, n := range rep.FalsePositives {
		classes[n.FlagID] = n.Class
	}
	for id, class := range map[string]string{"c": ClassFraudOther, "f": ClassFraudOther, "g": ClassFraudOther, "h": ClassSurge, "i": ClassClean, "j": ClassClean} {
		if classes[id] != class {
			t.Errorf("flag %s: class %q, want %q", id, classes[id], class)
		}
	}
	if len(classes) != 6 {
		t.Errorf("false positives %v", classes)
	}
	if len(rep.Misses) != 1 || rep.Misses[0].Scenario != simulate.ScenarioOrderBrushing || len(rep.Misses[0].Flags) != 1 {
		t.Errorf("misses %+v", rep.Misses)
	}
	byName := map[string]ScenarioStats{}
	for _, s := range rep.ScenarioStats {
		byName[s.Scenario] = s
	}
	if s := byName[simulate.ScenarioViewerInflationCount]; s.Labels != 1 || s.Detected != 1 || s.TPFlags != 2 || s.OtherFlags != 1 || s.TTFMedian != 30 {
		t.Errorf("count inflation %+v", s)
	}
	if s := byName[simulate.ScenarioSurgeCelebrity]; s.Labels != 1 || s.OtherFlags != 1 {
		t.Errorf("celebrity %+v", s)
	}
	if _, ok := byName[simulate.ScenarioSurgeFlashSale]; ok {
		t.Errorf("a scenario without labels or flags is listed")
	}

	err := rep.Check(DefaultTargets())
	if err == nil {
		t.Fatal("Check passed")
	}
	for _, want := range []string{
		"viewer_inflation: precision 0.500 < 0.95",
		"viewer_inflation: median time-to-flag 6m15s > 1m0s",
		"refund_spike: precision 0.333",
		"order_brushing: recall 0.000 < 0.95 (0 of 1 labels flagged)",
		"order_brushing: precision 0.000",
		"1 flags on surge streams > 0",
		"2 flags on clean streams > 0",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "refund_spike: recall") || strings.Contains(err.Error(), "refund_spike: median") {
		t.Errorf("Check names a met target:\n%v", err)
	}

	table := rep.Table()
	for _, want := range []string{"viewer_inflation", "0.500", "6m15s", "order_brushing", "flags on surge streams: 1", "on clean streams: 2", "missed", "false positives"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js, &back); err != nil || strings.Contains(string(js), "\n") {
		t.Fatalf("JSON %s: %v", js, err)
	}
	if back["clean_flags"] != 2.0 || len(back["kinds"].([]any)) != 3 {
		t.Errorf("JSON %s", js)
	}
}

// The window and the episode are closed intervals: touching counts, a millisecond apart does not.
func TestScoreBoundaries(t *testing.T) {
	labels := []simulate.Label{label(simulate.ScenarioRefundSpike, "refund_spike", "s", at(5, 0), at(15, 0))}
	ms := time.Millisecond
	for _, c := range []struct {
		name   string
		ws, we time.Time
		match  bool
	}{
		{"ends at onset", at(0, 0), at(5, 0), true},
		{"ends just before onset", at(0, 0), at(5, 0).Add(-ms), false},
		{"starts at end+grace", at(20, 0), at(22, 0), true},
		{"starts just after end+grace", at(20, 0).Add(ms), at(22, 0), false},
		{"covers it", at(0, 0), at(40, 0), true},
	} {
		f := flag("x", "refund_spike", "s", c.ws, c.we, c.we)
		rep := Score([]Outcome{{Seed: 1, Start: t0, Labels: labels, Flags: []Flag{f}, Streams: 1}}, 5*time.Minute)
		if got := rep.Kinds[0].TP == 1; got != c.match {
			t.Errorf("%s: match %v, want %v", c.name, got, c.match)
		}
	}
}

// Seeds are scored apart: a stream id of one seed's label does not match another seed's flag;
// a perfect report passes Check.
func TestScoreSeedsApart(t *testing.T) {
	l := label(simulate.ScenarioOrderBrushing, "order_brushing", "s-000003", at(5, 0), at(25, 0))
	outs := []Outcome{
		{Seed: 1, Start: t0, Labels: []simulate.Label{l}, Flags: []Flag{flag("a", "order_brushing", "s-000003", at(5, 0), at(6, 0), at(5, 40))}, Streams: 4},
		{Seed: 2, Start: t0, Labels: []simulate.Label{l}, Flags: nil, Streams: 4},
		{Seed: 3, Start: t0, Labels: []simulate.Label{l}, Flags: []Flag{flag("b", "order_brushing", "s-000003", at(5, 0), at(6, 0), at(5, 50))}, Streams: 4},
	}
	rep := Score(outs, 5*time.Minute)
	k := rep.Kinds[0]
	if k.Labels != 3 || k.Detected != 2 || k.TP != 2 || k.FP != 0 || k.TTFMedian != 45 || k.TTFMax != 50 {
		t.Errorf("%+v", k)
	}
	if len(rep.Misses) != 1 || rep.Misses[0].Seed != 2 {
		t.Errorf("misses %+v", rep.Misses)
	}
	if rep.CleanStreams != 9 {
		t.Errorf("clean streams %d, want 9", rep.CleanStreams)
	}
	rep = Score([]Outcome{outs[0], outs[2]}, 5*time.Minute)
	if err := rep.Check(DefaultTargets()); err != nil {
		t.Errorf("perfect report: %v", err)
	}
	if err := rep.Check(Targets{Precision: 0.95, Recall: 0.95, MedianTTF: 30 * time.Second}); err == nil || !strings.Contains(err.Error(), "order_brushing: median time-to-flag 45s > 30s") {
		t.Errorf("Check: %v", err)
	}
}

func TestDefaultStart(t *testing.T) {
	sh := shanghai()
	now := time.Date(2025, 11, 11, 0, 30, 0, 0, sh) // 30 min past midnight
	// A 45 min run cannot fit after tonight's midnight: the previous one.
	got := defaultStart(now, 45*time.Minute, true)
	if want := time.Date(2025, 11, 9, 23, 55, 0, 0, sh); !got.Equal(want) {
		t.Errorf("start %v, want %v", got.In(sh), want)
	}
	now = time.Date(2025, 11, 11, 0, 40, 0, 0, sh)
	if got, want := defaultStart(now, 45*time.Minute, true), time.Date(2025, 11, 10, 23, 55, 0, 0, sh); !got.Equal(want) {
		t.Errorf("start %v, want %v", got.In(sh), want)
	}
	if got := defaultStart(now, 45*time.Minute, false); !got.Equal(now.Add(-45 * time.Minute)) {
		t.Errorf("start without midnight %v", got)
	}
}

func TestSecs(t *testing.T) {
	f := func(s float64, want string) {
		t.Helper()
		if got := secs(s); got != want {
			t.Errorf("secs(%v) = %q, want %q", s, got, want)
		}
	}
	f(45, "45s")
	f(90, "1m30s")
	f(2400, "40m")
	f(269.4, "4m29.4s") // was 4m29.399999999s
	f(24.24, "24.2s")
	f(7200, "2h")
}

// A brushing ring refunds most of its orders, so its label implies refund_spike: a refund_spike
// flag on the episode is right (no false positive) but detects no label; one after the episode
// and its grace is still a false positive.
func TestScoreImplied(t *testing.T) {
	brushing := label(simulate.ScenarioOrderBrushing, "order_brushing", "s4", at(5, 0), at(25, 0))
	brushing.Implies = []string{"refund_spike"}
	flags := []Flag{
		flag("b", "order_brushing", "s4", at(8, 0), at(20, 0), at(9, 0)),
		flag("r", "refund_spike", "s4", at(10, 0), at(28, 0), at(20, 0)),
		flag("late", "refund_spike", "s4", at(31, 0), at(40, 0), at(40, 0)),
	}
	rep := Score([]Outcome{{Seed: 1, Start: t0, Labels: []simulate.Label{brushing}, Flags: flags, Streams: 1}}, 5*time.Minute)
	for _, k := range rep.Kinds {
		switch k.Kind {
		case "refund_spike":
			if k.Labels != 0 || k.Detected != 0 || k.Flags != 2 || k.TP != 1 || k.FP != 1 {
				t.Errorf("refund_spike %+v, want 2 flags: 1 implied, 1 false positive, no label", k)
			}
		case "order_brushing":
			if k.Detected != 1 || k.TP != 1 || k.FP != 0 {
				t.Errorf("order_brushing %+v", k)
			}
		}
	}
	if rep.ImpliedFlags != 1 || rep.FraudOtherFlags != 1 || len(rep.FalsePositives) != 1 || rep.FalsePositives[0].FlagID != "late" {
		t.Errorf("implied %d, fraud-other %d, false positives %+v", rep.ImpliedFlags, rep.FraudOtherFlags, rep.FalsePositives)
	}
	if !strings.Contains(rep.Table(), "implied by their fraud: 1") {
		t.Errorf("table:\n%s", rep.Table())
	}
}
