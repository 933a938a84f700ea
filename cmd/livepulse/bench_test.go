package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/testenv"
)

// TestBenchCommand runs `livepulse bench` on a small backlog, every phase on (kcat included), and
// checks the JSON report's last line: the figures are there, plausible and consistent.
func TestBenchCommand(t *testing.T) {
	testenv.Library(t)
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatalf("kcat is needed (scripts/setup.sh --test installs it): %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "bench", "--events", "50000", "--decode-sample", "10000",
		"--latency-history", "5s", "--latency-duration", "3s", "--latency-rate", "1000", "--data-dir", t.TempDir(), "--json")
	cmd.Env = append(os.Environ(), "LIVEPULSE_AS_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("livepulse bench: %v\n%s\n%s", err, out, stderr.Bytes())
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	var rep map[string]any
	if err := json.Unmarshal(lines[len(lines)-1], &rep); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"events", "seconds", "events_per_sec", "events_per_cpu_sec", "p99_ingest_latency_ms",
		"p99_flag_latency_ms", "peak_rss_bytes", "kcat_events_per_sec", "ratio_vs_kcat"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("report has no %q", k)
		}
	}
	positive := func(k string) float64 {
		v, ok := rep[k].(float64)
		if !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, rep[k])
		}
		return v
	}
	if got := positive("events"); got != 50_000 {
		t.Errorf("events = %v, want 50000", got)
	}
	for _, k := range []string{"seconds", "events_per_sec", "events_per_cpu_sec", "p50_ingest_latency_ms", "p99_ingest_latency_ms",
		"peak_rss_bytes", "kcat_events_per_sec", "ratio_vs_kcat", "latency_events"} {
		positive(k)
	}
	if p50, p99 := rep["p50_ingest_latency_ms"].(float64), rep["p99_ingest_latency_ms"].(float64); p50 > p99 {
		t.Errorf("p50 latency %v > p99 %v", p50, p99)
	}
	if r := rep["ratio_vs_kcat"].(float64); r != rep["events_per_sec"].(float64)/rep["kcat_events_per_sec"].(float64) {
		t.Errorf("ratio_vs_kcat %v is not events_per_sec ÷ kcat_events_per_sec", r)
	}
	rows := 0.0
	for _, v := range rep["inserts"].(map[string]any) {
		rows += v.(map[string]any)["rows"].(float64)
	}
	if rows != 50_000 {
		t.Errorf("the drain's inserts hold %v rows, want 50000", rows)
	}
	if n := rep["latency_unmatched"].(float64); n != 0 {
		t.Errorf("%v live events never became visible", n)
	}
	dec := rep["decode"].(map[string]any)
	if dec["livepulse_invalid"].(float64) != 0 || dec["stdlib_events_per_sec"].(float64) <= 0 || dec["livepulse_events_per_sec"].(float64) <= 0 {
		t.Errorf("decode comparison: %v", dec)
	}
}
