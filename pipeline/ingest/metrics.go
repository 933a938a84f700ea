package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/livepulse/livepulse/schemas"
)

// Metrics are the pipeline's Prometheus collectors.
type Metrics struct {
	Consumed      *prometheus.CounterVec   // messages read, by topic
	Stored        *prometheus.CounterVec   // rows inserted, by table
	AlreadyStored *prometheus.CounterVec   // rows skipped on replay because they were stored before a restart, by table
	DeadLetters   *prometheus.CounterVec   // dead letters, by topic and reason
	Duplicates    *prometheus.CounterVec   // events whose event_id was seen before in the partition, by topic and reason (dedupe.go)
	Late          *prometheus.CounterVec   // events beyond the allowed lateness (stored, flagged, not counted), by topic
	Lag           *prometheus.GaugeVec     // messages behind the partition's high watermark, by topic and partition
	BatchRows     *prometheus.HistogramVec // rows per INSERT, by table
	InsertSeconds *prometheus.HistogramVec // INSERT latency, by table
	InsertErrors  *prometheus.CounterVec   // failed INSERT attempts (retried), by table
	Commits       prometheus.Counter       // offset commits
	CommitErrors  prometheus.Counter       // failed offset commits
	Assigned      prometheus.Gauge         // partitions this instance consumes
}

// NewMetrics creates the collectors and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "livepulse_consumed_messages_total", Help: "Messages read from Kafka.",
		}, []string{"topic"}),
		Stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "livepulse_stored_rows_total", Help: "Rows inserted into ClickHouse.",
		}, []string{"table"}),
		AlreadyStored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "livepulse_replayed_already_stored_total", Help: "Re-read rows skipped because ClickHouse already held them (after a restart or rebalance).",
		}, []string{"table"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "livepulse_dead_letters_total", Help: "Messages that broke the contract.",
		}, []string{"topic", "reason"}),
		Duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "livepulse_duplicate_events_total", Help: "Events whose event_id was already stored in the partition: resends (skipped) and conflicts (dead letters).",
		}, []string{"topic", "reason"}),
		Late: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "livepulse_late_events_total", Help: "Events that arrived after their minute was final: stored with late=1, not counted in metrics.",
		}, []string{"topic"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "livepulse_consumer_lag_messages", Help: "Messages between the last one read and the partition's high watermark.",
		}, []string{"topic", "partition"}),
		BatchRows: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "livepulse_insert_batch_rows", Help: "Rows per ClickHouse INSERT.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}, []string{"table"}),
		InsertSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "livepulse_insert_duration_seconds", Help: "ClickHouse INSERT latency.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"table"}),
		InsertErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "livepulse_insert_errors_total", Help: "Failed INSERT attempts; each is retried.",
		}, []string{"table"}),
		Commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "livepulse_offset_commits_total", Help: "Offset commits to the consumer group.",
		}),
		CommitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "livepulse_offset_commit_errors_total", Help: "Failed offset commits.",
		}),
		Assigned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "livepulse_assigned_partitions", Help: "Partitions this instance consumes.",
		}),
	}
	// Report zeros for every known label value, so dashboards and alerts see the series from the start.
	for _, t := range schemas.Tables {
		m.Stored.WithLabelValues(t.Name)
		m.InsertErrors.WithLabelValues(t.Name)
	}
	if reg != nil {
		reg.MustRegister(m.Consumed, m.Stored, m.AlreadyStored, m.DeadLetters, m.Duplicates, m.Late, m.Lag, m.BatchRows,
			m.InsertSeconds, m.InsertErrors, m.Commits, m.CommitErrors, m.Assigned)
	}
	return m
}
