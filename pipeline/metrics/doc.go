// Package metrics computes the live per-stream, per-minute figures (schemas.StreamMetrics1m) of
// one partition's events, in event time.
//
// A Shard is fed every valid event of partition p of the three co-partitioned topics (Add) and,
// as the watermark moves, returns the rows to write (Advance). A minute is emitted once the
// watermark passes its end, emitted again whenever an event within the allowed lateness changes
// it, and forgotten once final (end + AllowedLateness ≤ watermark); later events are late. Rows
// carry no version: the caller numbers emissions, and ReplacingMergeTree keeps the last.
//
// The money and count figures (orders, gmv, buyers, refunds, refund_amount, refunded_orders,
// joins, leaves, heartbeats, engagements, count_events, unique_viewers) of a final row equal a
// plain SQL aggregation of the raw events that were not late, grouped by stream and minute, with
// refunds grouped by their order's stream (distinct counts are exact up to Config.ExactDistinct
// per minute). The session figures follow the model in sessions.go. Everything is a function of
// the sequence of events added: the same sequence gives the same rows, and the final emission of
// each row does not depend on when Advance was called (see TestReplayEquivalence).
//
// Files: shard.go (Add, Advance, the stream loop), minute.go (one minute's state and figures),
// sessions.go (sessions, concurrency, session ends), distinct.go and hll.go (distinct counts),
// refunds.go (order memory, refund attribution, lookups), late.go (late events), stream.go.
package metrics
