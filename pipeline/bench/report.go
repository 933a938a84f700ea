package bench

import (
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what Run measured. Latencies are in milliseconds; a latency is null when nothing was
// measured (no flag raised in the latency phase, or the phase skipped).
type Report struct {
	Events          int64   `json:"events"`
	Seconds         float64 `json:"seconds"`
	EventsPerSec    float64 `json:"events_per_sec"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	EventsPerCPUSec float64 `json:"events_per_cpu_sec"`

	P50IngestLatencyMS *float64 `json:"p50_ingest_latency_ms"`
	P99IngestLatencyMS *float64 `json:"p99_ingest_latency_ms"`
	P50FlagLatencyMS   *float64 `json:"p50_flag_latency_ms"`
	P99FlagLatencyMS   *float64 `json:"p99_flag_latency_ms"`
	// ...and of the emissions evaluated on the history, while the pipeline caught up with it.
	P99FlagLatencyCatchUpMS *float64 `json:"p99_flag_latency_catch_up_ms"`
	PeakRSSBytes            int64    `json:"peak_rss_bytes"`

	KcatEventsPerSec *float64 `json:"kcat_events_per_sec"`
	KcatSeconds      float64  `json:"kcat_seconds"`
	KcatCPUSeconds   float64  `json:"kcat_cpu_seconds"`
	RatioVsKcat      *float64 `json:"ratio_vs_kcat"`

	Inserts map[string]TableInserts `json:"inserts"`
	Decode  decodeResult            `json:"decode"`

	LatencyHistoryEvents int      `json:"latency_history_events"`
	LatencyEvents        int      `json:"latency_events"`
	LatencyEventsPerSec  float64  `json:"latency_events_per_sec"`
	LatencyUnmatched     int      `json:"latency_unmatched"`
	FlagsMeasured        int      `json:"flags_measured"`
	FlagKinds            []string `json:"flag_kinds"`
	FlagsMissed          int      `json:"flags_missed"`
	FlagsCatchUp         int      `json:"flags_catch_up"`

	ProduceSeconds float64 `json:"produce_seconds"`
	BacklogBytes   int64   `json:"backlog_bytes"`
	Partitions     int     `json:"partitions"`
	Streams        int     `json:"streams"`
	Seed           int64   `json:"seed"`
	GOMAXPROCS     int     `json:"gomaxprocs"`
	NumCPU         int     `json:"num_cpu"`
	GoVersion      string  `json:"go_version"`
}

// TableInserts is one table's INSERTs during the drain.
type TableInserts struct {
	Inserts   int64   `json:"inserts"`
	Rows      int64   `json:"rows"`
	MeanBatch float64 `json:"mean_batch_rows"`
	Seconds   float64 `json:"seconds"` // summed INSERT wall time
}

func (r *Report) setDrain(d drainResult) {
	r.Seconds, r.CPUSeconds = d.seconds, d.cpu
	r.EventsPerSec = float64(r.Events) / d.seconds
	if d.cpu > 0 {
		r.EventsPerCPUSec = float64(r.Events) / d.cpu
	}
	r.Inserts = make(map[string]TableInserts)
	for t, s := range d.inserts {
		ti := TableInserts{Inserts: s.inserts, Rows: int64(s.rows), Seconds: s.seconds}
		if s.inserts > 0 {
			ti.MeanBatch = s.rows / float64(s.inserts)
		}
		r.Inserts[t] = ti
	}
	r.GOMAXPROCS, r.NumCPU, r.GoVersion = runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version()
}

func (r *Report) setKcat(k kcatResult) {
	rate := float64(k.messages) / k.seconds
	ratio := r.EventsPerSec / rate
	r.KcatEventsPerSec, r.RatioVsKcat = &rate, &ratio
	r.KcatSeconds, r.KcatCPUSeconds = k.seconds, k.cpu
}

func (r *Report) setLatency(l latencyResult) {
	r.LatencyEvents, r.LatencyUnmatched, r.LatencyHistoryEvents = l.events, l.unmatched, l.historyEvents
	if l.seconds > 0 {
		r.LatencyEventsPerSec = float64(l.events) / l.seconds
	}
	r.P50IngestLatencyMS, r.P99IngestLatencyMS = percentileMS(l.ingest, 0.50), percentileMS(l.ingest, 0.99)
	r.P50FlagLatencyMS, r.P99FlagLatencyMS = percentileMS(l.flags, 0.50), percentileMS(l.flags, 0.99)
	r.P99FlagLatencyCatchUpMS, r.FlagsCatchUp = percentileMS(l.catchUp, 0.99), len(l.catchUp)
	r.FlagsMeasured, r.FlagsMissed = len(l.flags), l.flagsMissed
	r.FlagKinds = slices.Compact(slices.Sorted(slices.Values(l.flagKinds)))
}

// percentileMS is the nearest-rank percentile, nil for no samples.
func percentileMS(ds []time.Duration, q float64) *float64 {
	if len(ds) == 0 {
		return nil
	}
	s := slices.Sorted(slices.Values(ds))
	i := max(int(float64(len(s))*q+0.999999)-1, 0)
	ms := float64(s[min(i, len(s)-1)].Microseconds()) / 1000
	return &ms
}

// JSON returns the report as one line of JSON.
func (r Report) JSON() ([]byte, error) { return json.Marshal(r) }

// Table returns the report for people.
func (r Report) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(w, "%s\t%s\n", k, v) }
	opt := func(v *float64, format string) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprintf(format, *v)
	}
	row("events (backlog)", fmt.Sprintf("%d (%.1f MB, %d partitions per topic, %d streams)", r.Events, float64(r.BacklogBytes)/1e6, r.Partitions, r.Streams))
	row("drain seconds", fmt.Sprintf("%.2f (to every offset committed, rows stored)", r.Seconds))
	row("events/s", fmt.Sprintf("%.0f", r.EventsPerSec))
	row("CPU seconds", fmt.Sprintf("%.2f (this process: broker, pipeline, ClickHouse)", r.CPUSeconds))
	row("events per CPU-second", fmt.Sprintf("%.0f", r.EventsPerCPUSec))
	row("kcat events/s", opt(r.KcatEventsPerSec, "%.0f")+fmt.Sprintf(" (%.2f s, %.2f CPU s in kcat)", r.KcatSeconds, r.KcatCPUSeconds))
	row("ratio vs kcat", opt(r.RatioVsKcat, "%.3f"))
	row("decode encoding/json", fmt.Sprintf("%.0f events/s (one goroutine, %d messages, no checks)", r.Decode.StdlibPerSec, r.Decode.Messages))
	row("decode livepulse", fmt.Sprintf("%.0f events/s (one goroutine, strict contract)", r.Decode.LivepulsePerSec))
	for _, t := range slices.Sorted(maps.Keys(r.Inserts)) {
		s := r.Inserts[t]
		row("inserts "+t, fmt.Sprintf("%d, mean %.0f rows, %.2f s in INSERTs", s.Inserts, s.MeanBatch, s.Seconds))
	}
	row("latency phase", fmt.Sprintf("%d live events at %.0f/s (after %d events of history)", r.LatencyEvents, r.LatencyEventsPerSec, r.LatencyHistoryEvents))
	row("p50 / p99 event-to-queryable", opt(r.P50IngestLatencyMS, "%.0f ms")+" / "+opt(r.P99IngestLatencyMS, "%.0f ms"))
	row("p50 / p99 event-to-flag", opt(r.P50FlagLatencyMS, "%.0f ms")+" / "+opt(r.P99FlagLatencyMS, "%.0f ms")+
		fmt.Sprintf(" past window close (%d live flag emissions %v)", r.FlagsMeasured, r.FlagKinds))
	row("p99 event-to-flag, catching up", opt(r.P99FlagLatencyCatchUpMS, "%.0f ms")+
		fmt.Sprintf(" (%d emissions evaluated on the history, while the pipeline worked through it)", r.FlagsCatchUp))
	row("peak RSS", fmt.Sprintf("%.0f MiB", float64(r.PeakRSSBytes)/(1<<20)))
	row("machine", fmt.Sprintf("%d CPUs, GOMAXPROCS %d, %s", r.NumCPU, r.GOMAXPROCS, r.GoVersion))
	w.Flush()
	return b.String()
}
