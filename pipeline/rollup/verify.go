package rollup

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/livepulse/livepulse/pipeline/store"
)

// figures are the columns of stream_metrics_1m that plain SQL over the raw tables can recompute
// exactly (session figures depend on event order and history; they are checked by unit tests).
const figures = `toString(gmv), orders, buyers, refunds, toString(refund_amount), refunded_orders,
joins, leaves, heartbeats, engagements, count_events, unique_viewers`

// rollupSQL reads the last emission of each row, summed over partitions.
const rollupSQL = `SELECT stream_id, toUnixTimestamp64Milli(minute), ` + figures + ` FROM (
SELECT stream_id, minute, sum(gmv) AS gmv, sum(orders) AS orders, sum(buyers) AS buyers, sum(refunds) AS refunds,
  sum(refund_amount) AS refund_amount, sum(refunded_orders) AS refunded_orders, sum(joins) AS joins, sum(leaves) AS leaves,
  sum(heartbeats) AS heartbeats, sum(engagements) AS engagements, sum(count_events) AS count_events, sum(unique_viewers) AS unique_viewers
FROM stream_metrics_1m FINAL GROUP BY stream_id, minute)`

// recomputeSQL computes the same figures from the raw tables, refunds joined to their order's
// stream: the oracle. (Exact while a stream-minute has at most metrics.Config.ExactDistinct
// viewers; beyond that unique_viewers is a sketch.)
const recomputeSQL = `
WITH
o AS (SELECT stream_id, toStartOfMinute(ts) AS minute, sum(amount) AS gmv, count() AS orders, uniqExact(buyer_id) AS buyers
      FROM orders WHERE late = 0 GROUP BY stream_id, minute),
owner AS (SELECT order_id, any(stream_id) AS order_stream FROM orders WHERE late = 0 GROUP BY order_id),
r AS (SELECT order_stream AS stream_id, toStartOfMinute(ts) AS minute, count() AS refunds, sum(amount) AS refund_amount,
      uniqExact(order_id) AS refunded_orders
      FROM refunds INNER JOIN owner USING (order_id) WHERE late = 0 GROUP BY stream_id, minute),
v AS (SELECT stream_id, toStartOfMinute(ts) AS minute, countIf(action = 'join') AS joins, countIf(action = 'leave') AS leaves,
      countIf(action = 'heartbeat') AS heartbeats, countIf(action = 'engage') AS engagements, countIf(action = 'count') AS count_events,
      uniqExactIf(viewer_id, action != 'count') AS unique_viewers
      FROM viewer_events WHERE late = 0 GROUP BY stream_id, minute),
k AS (SELECT stream_id, minute FROM o UNION DISTINCT SELECT stream_id, minute FROM r UNION DISTINCT SELECT stream_id, minute FROM v)
SELECT k.stream_id, toUnixTimestamp64Milli(toDateTime64(k.minute, 3, 'UTC')),
  toString(toDecimal64(o.gmv, 2)) AS gmv, o.orders, o.buyers, r.refunds, toString(toDecimal64(r.refund_amount, 2)), r.refunded_orders,
  v.joins, v.leaves, v.heartbeats, v.engagements, v.count_events, v.unique_viewers
FROM k LEFT JOIN o ON o.stream_id = k.stream_id AND o.minute = k.minute
LEFT JOIN r ON r.stream_id = k.stream_id AND r.minute = k.minute
LEFT JOIN v ON v.stream_id = k.stream_id AND v.minute = k.minute
SETTINGS join_use_nulls = 0`

// Report is what Verify found.
type Report struct {
	Checked  int      // stream-minutes whose row equals the recomputation
	Problems []string // rows that differ, final minutes without a row, rows counting events that do not exist
}

// Verify recomputes stream_metrics_1m from the raw tables and compares, exactly. Minutes starting
// before finalBefore (Unix ms) must have their row; later ones may still be open.
func Verify(ctx context.Context, st *store.Store, finalBefore int64) (Report, error) {
	got, err := keyed(ctx, st, rollupSQL)
	if err != nil {
		return Report{}, err
	}
	want, err := keyed(ctx, st, recomputeSQL)
	if err != nil {
		return Report{}, err
	}
	var r Report
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, ok := got[k]
		switch {
		case !ok:
			if minuteOf(k) < finalBefore {
				r.Problems = append(r.Problems, fmt.Sprintf("%s: final minute has no rollup row; raw events say %s", k, want[k]))
			}
		case !sameRow(g, want[k]):
			if minuteOf(k) >= finalBefore {
				continue // still open: its row is provisional
			}
			r.Problems = append(r.Problems, fmt.Sprintf("%s: rollup %s, raw events %s", k, g, want[k]))
		default:
			r.Checked++
		}
	}
	// A row for a minute without events is fine if it counts nothing recomputable (it carries
	// the concurrent viewers of sessions still open).
	zero := strings.TrimSpace(strings.Repeat("0\t", 12))
	for k, g := range got {
		if _, ok := want[k]; !ok && g != zero && minuteOf(k) < finalBefore {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: rollup %s, but no raw events", k, g))
		}
	}
	sort.Strings(r.Problems)
	return r, nil
}

func keyed(ctx context.Context, st *store.Store, sql string) (map[string]string, error) {
	out, err := st.Backend().Query(ctx, sql, "TabSeparated")
	if err != nil {
		return nil, fmt.Errorf("cannot run verification query: %w", err)
	}
	rows := make(map[string]string)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.SplitN(line, "\t", 3); len(f) == 3 {
			rows[f[0]+"@"+f[1]] = f[2]
		}
	}
	return rows, nil
}

func minuteOf(key string) int64 {
	var minute int64
	fmt.Sscanf(key[strings.LastIndex(key, "@")+1:], "%d", &minute)
	return minute
}

// The distinct counters among the figures (buyers, refunded_orders, unique_viewers) are exact up
// to metrics.Config.ExactDistinct (4096 by default) values and a HyperLogLog (~0.8 % standard
// error) beyond: there a recomputation's exact count is matched within 5 standard errors.
var distinctFigures = map[int]bool{2: true, 5: true, 11: true}

const (
	exactDistinct = 4096
	hllTolerance  = 0.04
)

// sameRow compares a rollup row's figures with their recomputation (TSV, in `figures` order).
func sameRow(got, want string) bool {
	if got == want {
		return true
	}
	g, w := strings.Split(got, "\t"), strings.Split(want, "\t")
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		if g[i] == w[i] {
			continue
		}
		gv, err1 := strconv.ParseFloat(g[i], 64)
		wv, err2 := strconv.ParseFloat(w[i], 64)
		if !distinctFigures[i] || err1 != nil || err2 != nil || wv <= exactDistinct || math.Abs(gv-wv) > hllTolerance*wv {
			return false
		}
	}
	return true
}
