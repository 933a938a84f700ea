package detectors

import (
	"strconv"
	"strings"
	"testing"

	"github.com/livepulse/livepulse/schemas"
)

// Honest background of several sizes — households, carrier NAT crowding 3 networks, honest
// refunds and repeat buyers — raises nothing.
func TestHonestTrafficRaisesNothing(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		streams := []*streamCfg{
			{ID: "small", Start: t0, End: t0 + 40*minute, Rate: constRate(0.8), Carrier: 0.3},
			{ID: "mid", Start: t0 + 3*minute, End: t0 + 45*minute, Rate: constRate(4), Carrier: 0.3, Factor: 1.3},
			{ID: "big", Start: t0, End: t0 + 30*minute, Rate: constRate(8), Carrier: 0.3, Factor: 1.0, RefundRate: 0.15},
		}
		evs := build(seed, streams...)
		flags := run(t, DefaultConfig(), evs, 500, 10*minute)
		if len(flags) != 0 {
			t.Errorf("seed %d: %d events of honest traffic raised flags:%s", seed, len(evs), describeFlags(flags))
		}
	}
}

// A displayed count 8× the measured audience raises viewer_inflation, with the numbers in words.
func TestInflatedDisplayedCount(t *testing.T) {
	s := &streamCfg{ID: "inflated", Start: t0, End: t0 + 30*minute, Rate: constRate(6), Carrier: 0.3,
		Inflate: func(ts int64) float64 {
			if ts >= t0+12*minute {
				return 8
			}
			return 1
		}}
	flags := run(t, DefaultConfig(), build(7, s), 1000, 10*minute)
	vi := flagsOf(flags, KindViewerInflation, "inflated")
	if len(vi) == 0 || len(flagsOf(flags, "", "")) != len(vi) {
		t.Fatalf("want only viewer_inflation flags, got:%s", describeFlags(flags))
	}
	f := vi[0]
	if f.State != StateOpen || f.DetectedAt < t0+12*minute || f.DetectedAt > t0+13*minute {
		t.Errorf("opened at +%ds, want within a minute of the inflation at +720s", (f.DetectedAt-t0)/1000)
	}
	disp, meas := f.Evidence.Signals["displayed_viewers"], f.Evidence.Signals["measured_sessions"]
	if r := disp / meas; r < 6 || r > 11 {
		t.Errorf("displayed %v vs measured %v: ratio %.1f, want ~8×1.15", disp, meas, r)
	}
	for _, want := range []string{
		"displayed " + fmtInt(int64(disp)) + " viewers",
		fmtInt(int64(meas)) + " measured sessions",
		"displayed_vs_measured",
	} {
		if !strings.Contains(f.Evidence.Summary, want) {
			t.Errorf("evidence %q lacks %q", f.Evidence.Summary, want)
		}
	}
	if f.Severity != SeverityCritical || f.KOLID != "kol-inflated" || f.BrandID != "brand-1" || f.Platform != "douyin" {
		t.Errorf("flag %+v", f)
	}
	last := vi[len(vi)-1]
	if last.State != StateClosed || last.FlagID != f.FlagID {
		t.Errorf("the episode did not close after the stream ended: %s", describeFlags(vi))
	}
	t.Log(describeFlags(vi[:1]))
}

// botFarm adds `sessions` bot sessions from `devices` devices on 2 /24 networks, all joining
// within `spread` from `at`, never heartbeating.
func botFarm(at, spread int64, sessions, devices int) func(g *traffic, s *streamCfg) {
	return func(g *traffic, s *streamCfg) {
		for i := range sessions {
			d := i % devices
			ts := at + g.rng.Int64N(spread)
			viewer := "bot-" + strconv.Itoa(i)
			g.viewer(s, ts, schemas.ActionJoin, viewer, g.id("bot-s"), "farm-dev"+strconv.Itoa(d), "45.11."+strconv.Itoa(20+d%2)+"."+strconv.Itoa(1+d))
		}
	}
}

// A bot farm — 4,000 sessions from 20 devices joining within 90 s, no heartbeats — raises
// viewer_inflation, naming the signals.
func TestBotFarm(t *testing.T) {
	s := &streamCfg{ID: "farmed", Start: t0, End: t0 + 30*minute, Rate: constRate(4), Carrier: 0.3,
		Extra: botFarm(t0+15*minute, 90*second, 4000, 20)}
	flags := run(t, DefaultConfig(), build(11, s), 1000, 10*minute)
	vi := flagsOf(flags, KindViewerInflation, "farmed")
	if len(vi) == 0 || len(flags) != len(vi) {
		t.Fatalf("want only viewer_inflation flags, got:%s", describeFlags(flags))
	}
	f := vi[0]
	if f.DetectedAt > t0+17*minute {
		t.Errorf("opened at +%ds, want by +1020s", (f.DetectedAt-t0)/1000)
	}
	peak := vi[len(vi)-1]
	for _, sig := range []string{"device_concentration", "silent_sessions", "join_burst"} {
		if !strings.Contains(peak.Evidence.Summary, sig) || !contains(peak.Evidence.Fired, sig) {
			t.Errorf("peak evidence lacks %s: %v %q", sig, peak.Evidence.Fired, peak.Evidence.Summary)
		}
	}
	if !strings.Contains(peak.Evidence.Summary, "from 20 devices") {
		t.Errorf("evidence does not name the 20 devices: %q", peak.Evidence.Summary)
	}
	t.Log(describeFlags(vi))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A celebrity guest triples the audience — a burst of thousands of fans within two minutes, then
// three times the arrivals for ten minutes, all watching, engaging and buying like the others —
// and the stream ends right after (everyone leaves at once): no flag.
func TestCelebrityGuestRaisesNothing(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		s := &streamCfg{ID: "guest", Start: t0, End: t0 + 32*minute, Carrier: 0.3,
			Rate: func(ts int64) float64 {
				switch {
				case ts >= t0+15*minute && ts < t0+17*minute:
					return 4 + 15 // the fans rush in
				case ts >= t0+17*minute && ts < t0+27*minute:
					return 12
				}
				return 4
			}}
		flags := run(t, DefaultConfig(), build(seed, s), 1000, 10*minute)
		if len(flags) != 0 {
			t.Errorf("seed %d: celebrity surge raised flags:%s", seed, describeFlags(flags))
		}
	}
}

// Observation starting in the middle of a busy stream (a restart, a rebalance): sessions already
// open show up at their next heartbeat, without their join; the displayed count is there at
// once. The warm-up keeps that from looking like inflation.
func TestJoiningMidStreamRaisesNothing(t *testing.T) {
	s := &streamCfg{ID: "midway", Start: t0, End: t0 + 40*minute, Rate: constRate(8), Carrier: 0.3}
	var evs []tev
	for _, e := range build(8, s) {
		if e.ts >= t0+20*minute {
			evs = append(evs, e)
		}
	}
	if flags := run(t, DefaultConfig(), evs, 1000, 10*minute); len(flags) != 0 {
		t.Errorf("raised flags:%s", describeFlags(flags))
	}
}
