package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

// EventRange selects stored events of one Kafka partition: event time in [From, To), Unix ms;
// To math.MaxInt64 means no upper bound.
type EventRange struct {
	Partition int32
	From, To  int64
	// OpenSessionsFrom, when set, adds the viewer events back to it of the sessions seen in
	// [From, From+OpenSessionsSpan): sessions open at From, so their watch time counts from their
	// real start.
	OpenSessionsFrom, OpenSessionsSpan int64
}

// ReadEvents returns the stored on-time events (late = 0) of r from the three raw tables, in
// event-time order (ties: viewer, order, refund, then Kafka offset). Stored rows are decoded by
// the contract's own decoder, so a replay sees exactly what the live pipeline saw.
func (s *Store) ReadEvents(ctx context.Context, r EventRange) ([]schemas.Event, error) {
	var events []schemas.Event
	// Stored events passed the contract's time checks when they arrived; now is irrelevant.
	dec := schemas.NewDecoder(schemas.DecoderConfig{PastHorizon: -1, FutureSkew: 100 * 365 * 24 * time.Hour, MaxBytes: 1 << 20})
	for _, k := range schemas.Kinds {
		t := schemas.TableFor(k)
		var cols []string
		for _, c := range t.Columns {
			switch {
			case c.Name == "ts":
				cols = append(cols, "toUnixTimestamp64Milli(ts) AS ts")
			case c.Contract:
				cols = append(cols, c.Name)
			}
		}
		where := fmt.Sprintf("ts >= fromUnixTimestamp64Milli(%d, 'UTC')", r.From)
		if r.To != math.MaxInt64 {
			where += fmt.Sprintf(" AND ts < fromUnixTimestamp64Milli(%d, 'UTC')", r.To)
		}
		if k == schemas.KindViewer && r.OpenSessionsFrom != 0 && r.OpenSessionsFrom < r.From {
			where = fmt.Sprintf(`(%s OR (ts >= fromUnixTimestamp64Milli(%d, 'UTC')
    AND (stream_id, if(session_id != '', session_id, viewer_id)) IN (
      SELECT stream_id, if(session_id != '', session_id, viewer_id) FROM %s
      WHERE kafka_partition = %d AND late = 0 AND ts >= fromUnixTimestamp64Milli(%d, 'UTC')
        AND ts < fromUnixTimestamp64Milli(%d, 'UTC'))))`,
				where, r.OpenSessionsFrom, t.Name, r.Partition, r.From, r.From+r.OpenSessionsSpan)
		}
		// Filter in a subquery: the outer alias ts (Unix ms) would shadow the column in WHERE.
		q := fmt.Sprintf(`SELECT %s FROM (
  SELECT * FROM %s WHERE kafka_partition = %d AND late = 0 AND %s)
ORDER BY ts, kafka_offset
SETTINGS output_format_json_quote_64bit_integers = 0, output_format_json_quote_decimals = 1`,
			strings.Join(cols, ", "), t.Name, r.Partition, where)
		out, err := s.b.Query(ctx, q, "JSONEachRow")
		if err != nil {
			return nil, fmt.Errorf("cannot read %s of partition %d: %w", t.Name, r.Partition, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			var ev schemas.Event
			if err := dec.Decode(k, sc.Bytes(), time.Now(), &ev); err != nil {
				return nil, fmt.Errorf("cannot decode a stored %s row of partition %d: %w", t.Name, r.Partition, err)
			}
			events = append(events, ev)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("cannot read %s rows of partition %d: %w", t.Name, r.Partition, err)
		}
	}
	// Stable: within a timestamp, tables in Kinds order and each table in offset order.
	slices.SortStableFunc(events, func(a, b schemas.Event) int { return int(a.Header().TS - b.Header().TS) })
	return events, nil
}

// EventPartitions lists the Kafka partitions holding stored events with event time in
// [from, to), Unix ms.
func (s *Store) EventPartitions(ctx context.Context, from, to int64) ([]int32, error) {
	var parts []string
	for _, k := range schemas.Kinds {
		parts = append(parts, fmt.Sprintf(
			"SELECT DISTINCT kafka_partition AS p FROM %s WHERE ts >= fromUnixTimestamp64Milli(%d, 'UTC') AND ts < fromUnixTimestamp64Milli(%d, 'UTC')",
			schemas.TableFor(k).Name, from, to))
	}
	out, err := s.b.Query(ctx, "SELECT DISTINCT p FROM ("+strings.Join(parts, " UNION ALL ")+") ORDER BY p", "TabSeparated")
	if err != nil {
		return nil, fmt.Errorf("cannot list stored partitions: %w", err)
	}
	var ps []int32
	for _, line := range strings.Fields(string(out)) {
		var p int32
		if _, err := fmt.Sscan(line, &p); err != nil {
			return nil, fmt.Errorf("cannot parse partition %q: %w", line, err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}
