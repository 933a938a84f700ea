// Package detectors raises anomaly flags on live-commerce streams from the events of one
// partition, in event time: viewer_inflation (a displayed audience the sessions do not back,
// bot sessions), refund_spike (a stream's orders refunded at a rate no honest stream shows) and
// order_brushing (orders concentrated on a few buyers or devices). Trust-and-safety teams act on
// the flags and brands withhold KOL fees on them, so each flag carries its evidence: the observed
// numbers against their baseline in words, the signals that fired, and the numbers themselves.
//
// An Engine per partition is the detector analogue of metrics.Shard: Observe takes each valid
// event of the partition's three co-partitioned topics, Advance(watermark) evaluates. The
// detectors are evaluated at every multiple of Config.EvaluateEvery (10 s) of event time, each
// time t over the events before t (a watermark w means: events before w have all arrived). Events
// waiting for a later step are buffered, so an evaluation never sees the future, and Advance
// catches up several steps at once, in order, when the watermark jumps. The flags emitted
// therefore depend only on the events and their arrival order, not on how often Advance is called
// (TestCadenceIndependence). An event arriving behind the last evaluation is late: it contradicts
// the watermark, and is only counted (EngineStats.Late).
//
// Episodes: a detector returns the streams currently anomalous (Finding). The first finding of a
// (kind, stream) opens a flag, with a FlagID hashed from kind, stream and the opening step; later
// findings update it (window extended; score, severity and evidence those of the peak) and it is
// emitted again only when it worsens materially; after Config.CloseAfter consecutive clean
// evaluations it closes and is emitted one last time. So one episode is one flag, not one per
// window.
//
// Thresholds: Config, with documented defaults (DefaultConfig, and defaults.yaml, which lists
// every key); ParseConfig/LoadConfig read YAML strictly. Each detector's file documents its
// signals, rules and score: viewer_inflation.go, refund_spike.go, order_brushing.go.
//
// State is bounded: per stream windows (sessions of the last 5 min, orders of the cohort or of
// the hour), caps per stream (Config: max_sessions, max_orders, max_viewers, max_skus), and
// streams without events for StreamIdle are forgotten. The hot path hashes ids to 64-bit keys and
// reuses its buffers: Observe does not allocate in the steady state (BenchmarkEngineObserve).
//
// Limits. Events ahead of the watermark wait in the engine, so a watermark held back (a partition
// with a backlog) grows that buffer, as it grows the metrics shard's open minutes. Flags are as
// deterministic as the events fed: an engine rebuilt from a later starting point (a new owner of
// the partition) sees less history, so baselines and episode starts, and with them flag ids, can
// differ from the previous owner's. A bot farm that fully imitates people's clients (a distinct
// device id per session, regular heartbeats, engagement) shows only corroborating signals, which
// honest surges share; it is not flagged unless the displayed count gives it away.
package detectors

import _ "embed"

// DefaultYAML is defaults.yaml: every configuration key with its default and meaning.
//
//go:embed defaults.yaml
var DefaultYAML []byte
