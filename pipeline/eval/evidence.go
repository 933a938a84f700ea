package eval

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/livepulse/livepulse/pipeline/simulate"
	"github.com/livepulse/livepulse/pipeline/store"
)

// evidenceTimes returns, for each label, the event time of the first stored event that carries
// its anomaly: the first inflated count (viewer_inflation_count), the first bot session
// (viewer_inflation_bots), the first refund of an order placed in the episode (refund_spike),
// the first order of the ring (order_brushing). No detector can flag before it; time-to-flag
// from it is the detectors' own delay, from the onset it adds the time the fraud takes to show.
// Surges and labels without stored evidence get the onset.
//
// early counts, per label, those events in the first EarlyWindow after the onset: what any
// detector has to go on when the time-to-flag target expires (−1 for surges).
func evidenceTimes(ctx context.Context, st *store.Store, labels []simulate.Label) (first []time.Time, early []int64, err error) {
	out := make([]time.Time, len(labels))
	early = make([]int64, len(labels))
	for i, l := range labels {
		out[i], early[i] = l.Onset, -1
		ms := func(t time.Time) string { return fmt.Sprintf("fromUnixTimestamp64Milli(%d, 'UTC')", t.UnixMilli()) }
		stream := "stream_id = " + quote(l.StreamID)
		var q string
		switch l.Scenario {
		case simulate.ScenarioViewerInflationCount:
			q = `SELECT toUnixTimestamp64Milli(min(ts)) FROM viewer_events WHERE ` + stream + ` AND action = 'count' AND ts >= ` + ms(l.Onset)
		case simulate.ScenarioViewerInflationBots:
			q = `SELECT toUnixTimestamp64Milli(min(ts)) FROM viewer_events WHERE ` + stream + ` AND device_id IN (` + quoteAll(l.Devices) + `) AND ts >= ` + ms(l.Onset)
		case simulate.ScenarioRefundSpike:
			q = `SELECT toUnixTimestamp64Milli(min(ts)) FROM refunds WHERE order_id IN (
  SELECT order_id FROM orders WHERE ` + stream + ` AND ts >= ` + ms(l.Onset) + ` AND ts < ` + ms(l.End) + `)`
		case simulate.ScenarioOrderBrushing:
			q = `SELECT toUnixTimestamp64Milli(min(ts)) FROM orders WHERE ` + stream + ` AND buyer_id IN (` + quoteAll(l.Buyers) + `)`
		default:
			continue
		}
		q = strings.Replace(q, "SELECT toUnixTimestamp64Milli(min(ts))",
			"SELECT toUnixTimestamp64Milli(min(ts)), countIf(ts < "+ms(l.Onset.Add(EarlyWindow))+")", 1)
		vs, err := queryInts(ctx, st, q+" HAVING count() > 0")
		if err != nil {
			return nil, nil, fmt.Errorf("cannot find the first evidence of %s on %s: %w", l.Scenario, l.StreamID, err)
		}
		early[i] = 0
		if len(vs) == 2 && vs[0] > 0 {
			out[i], early[i] = time.UnixMilli(vs[0]).UTC(), vs[1]
		}
	}
	return out, early, nil
}

// EarlyWindow is the time after the onset evidenceTimes counts the evidence of: the issue's
// median time-to-flag target.
const EarlyWindow = time.Minute

// queryInts runs sql for one row of integers (none: nil).
func queryInts(ctx context.Context, st *store.Store, sql string) ([]int64, error) {
	raw, err := st.Backend().Query(ctx, sql, "TabSeparated")
	if err != nil {
		return nil, err
	}
	line := strings.TrimSpace(string(raw))
	if line == "" {
		return nil, nil
	}
	var out []int64
	for _, f := range strings.Split(line, "\t") {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("cannot parse %q as an integer: %w", f, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	if len(q) == 0 {
		return "''"
	}
	return strings.Join(q, ", ")
}
