package rollup

import (
	"context"
	"fmt"
	"strings"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/store"
)

// LookupHistory reads from the store what the detectors ask for (detectors.History): for each
// key, the orders of its KOL or brand in the `days` days before its day, how many of them were
// refunded within `window` ms of being placed, and the viewer-minutes and engagements of its
// streams' minutes (stream_metrics_1m). Keys without data get a zero History.
func LookupHistory(ctx context.Context, st *store.Store, keys []detectors.HistoryKey, days int, window int64) (map[detectors.HistoryKey]detectors.History, error) {
	type group struct {
		scope string
		day   int64
	}
	ids := map[group][]string{}
	for _, k := range keys {
		g := group{k.Scope, k.Day}
		ids[g] = append(ids[g], quote(k.ID))
	}
	out := make(map[detectors.HistoryKey]detectors.History, len(keys))
	for _, k := range keys {
		out[k] = detectors.History{}
	}
	for g, list := range ids {
		col := "kol_id"
		if g.scope == detectors.ScopeBrand {
			col = "brand_id"
		}
		const dayMS = 24 * 60 * 60 * 1000
		from, to := g.day-int64(days)*dayMS, g.day
		inRange := fmt.Sprintf("%s IN (%s) AND late = 0 AND ts >= fromUnixTimestamp64Milli(%d, 'UTC') AND ts < fromUnixTimestamp64Milli(%d, 'UTC')",
			col, strings.Join(list, ", "), from, to)
		// A refund counts when its first refund came within window of the order (as the detector
		// learns a stream's own baseline); orders without refund join to the empty order_id.
		q := fmt.Sprintf(`SELECT o.id AS id, count() AS orders,
  countIf(r.order_id != '' AND r.first_ms < o.ts_ms + %d) AS refunded
FROM (SELECT order_id, %s AS id, toUnixTimestamp64Milli(ts) AS ts_ms FROM orders WHERE %s LIMIT 1 BY order_id) AS o
LEFT JOIN (
  SELECT order_id, toUnixTimestamp64Milli(min(ts)) AS first_ms FROM refunds
  WHERE order_id IN (SELECT order_id FROM orders WHERE %s) AND late = 0
  GROUP BY order_id) AS r ON r.order_id = o.order_id
GROUP BY id
SETTINGS output_format_json_quote_64bit_integers = 0`, window, col, inRange, inRange)
		// The audience: open sessions at each minute's end, summed, are viewer-minutes.
		audience := fmt.Sprintf(`SELECT %s AS id, sum(concurrent_viewers) AS viewer_minutes, sum(engagements) AS engagements
FROM stream_metrics_1m FINAL
WHERE %s IN (%s) AND minute >= fromUnixTimestamp64Milli(%d, 'UTC') AND minute < fromUnixTimestamp64Milli(%d, 'UTC')
GROUP BY id
SETTINGS output_format_json_quote_64bit_integers = 0`, col, col, strings.Join(list, ", "), from, to)
		for _, q := range []string{q, audience} {
			rows, err := store.QueryRows[historyRow](ctx, st, q)
			if err != nil {
				return nil, fmt.Errorf("cannot read the %s history of %d ids: %w", g.scope, len(list), err)
			}
			for _, r := range rows { // each query fills its own fields of an id's History
				k := detectors.HistoryKey{Scope: g.scope, ID: r.ID, Day: g.day}
				h := out[k]
				h.Orders += r.Orders
				h.Refunded += r.Refunded
				h.ViewerMinutes += r.ViewerMinutes
				h.Engagements += r.Engagements
				out[k] = h
			}
		}
	}
	return out, nil
}

// historyRow is one id's row of a history query (the fields the query does not select stay 0).
type historyRow struct {
	ID            string `json:"id"`
	Orders        int64  `json:"orders"`
	Refunded      int64  `json:"refunded"`
	ViewerMinutes int64  `json:"viewer_minutes"`
	Engagements   int64  `json:"engagements"`
}

// fillHistory gives det the history it asks for, from the store.
func fillHistory(ctx context.Context, st *store.Store, det *detectors.Engine) error {
	keys := det.MissingHistory()
	if len(keys) == 0 {
		return nil
	}
	hs, err := LookupHistory(ctx, st, keys, det.HistoryDays(), det.HistoryWindow())
	if err != nil {
		for _, k := range keys { // asked again next time
			det.ForgetHistory(k)
		}
		return err
	}
	for k, h := range hs {
		det.SetHistory(k, h)
	}
	return nil
}
