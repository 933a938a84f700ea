package eval

import (
	"context"
	"fmt"
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
func evidenceTimes(ctx context.Context, st *store.Store, labels []simulate.Label) ([]time.Time, error) {
	out := make([]time.Time, len(labels))
	for i, l := range labels {
		out[i] = l.Onset
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
		first, err := queryInt(ctx, st, q+" HAVING count() > 0")
		if err != nil {
			return nil, fmt.Errorf("cannot find the first evidence of %s on %s: %w", l.Scenario, l.StreamID, err)
		}
		if first > 0 {
			out[i] = time.UnixMilli(first).UTC()
		}
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
