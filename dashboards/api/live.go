package api

// The live figures: what /api/live, /api/live/stream, /api/streams/{id} and /api/kols/{id} serve.
//
// Sources. Money and counts of orders, refunds, viewers' joins and engagements, concurrency and
// watch time come from the stream_metrics_1m rollup, read with FINAL (a re-emitted row replaces
// the earlier emission of the same stream, minute and partition) and summed over kafka_partition
// (a refund read from another partition than its order's stream adds its own row). Distinct
// buyers and viewers over a range cannot be summed from per-minute rows, so they come from the
// raw orders and viewer_events tables (late = 0 only). late_events counts the raw rows stored
// with late = 1 in range, in all three raw tables: the source of truth for what was left out.
//
// SQL text: user input reaches it only as sqlString literals, inserted by a single-pass
// replacer (an id holding "{to}" stays an id); every other fragment is a constant.
//
// Distinct counts use uniqCombined: exact while a set is small (it keeps the values' 64-bit
// hashes in an array, then a hash table) and HyperLogLog (2^17 cells, error well under 1%)
// beyond, in fixed memory. A Singles'-Day audience is too large for exact counting every second.
//
// The same SQL runs on the embedded engine and on a ClickHouse server. The server backend renders
// results itself and only knows a few formats (JSONEachRow among them) and prints decimals without
// trailing zeros, so every query returns money as Int64 cents and times as Unix milliseconds:
// nothing depends on how a backend writes a Decimal or a DateTime64, and money never passes
// through a float.

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
)

// Money is an exact amount in cents. It marshals as a decimal string with exactly two fraction
// digits ("1234.50"), formatted from the integer: JSON numbers would pass through floats.
type Money int64

func (m Money) String() string {
	sign, v := "", uint64(m)
	if m < 0 {
		sign, v = "-", uint64(-m) // -MinInt64 wraps to itself, which as uint64 is its magnitude
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

func (m Money) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, m.String()), nil }

// UnmarshalJSON accepts exactly what MarshalJSON writes: "-?digits.dd".
func (m *Money) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	bad := func() error { return fmt.Errorf("money must be a string with exactly 2 decimals, got %s", b) }
	if err != nil {
		return bad()
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 2 || whole == "" || strings.Trim(whole+frac, "0123456789") != "" {
		return bad()
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return bad()
	}
	if neg {
		v = -v
	}
	*m = Money(v)
	return nil
}

// divHalfUp returns num/den rounded half up, for num ≥ 0 and den > 0, computed exactly (num can
// be large: GPM multiplies cents by 1000).
func divHalfUp(num *big.Int, den uint64) int64 {
	d := new(big.Int).SetUint64(den)
	q := new(big.Int).Lsh(num, 1) // (2·num + den) / (2·den)
	q.Add(q, d)
	q.Quo(q, d.Lsh(d, 1))
	return q.Int64()
}

// ratio returns a/b, or 0 when b is 0: an empty range has rates of 0, not NaN.
func ratio[A, B int64 | uint64](a A, b B) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Figures is the figure set of one scope: the whole platform, one stream, one KOL, one platform
// or one brand, over a range.
type Figures struct {
	GMV    Money  `json:"gmv"`
	NetGMV Money  `json:"net_gmv"` // gmv − refund_amount; negative when refunds of earlier orders dominate
	Orders uint64 `json:"orders"`
	Buyers uint64 `json:"buyers"`
	AOV    Money  `json:"aov"` // gmv / orders, rounded half up to the cent

	Refunds            uint64  `json:"refunds"`
	RefundedOrders     uint64  `json:"refunded_orders"`
	RefundAmount       Money   `json:"refund_amount"`
	RefundRate         float64 `json:"refund_rate"`           // refunded_orders / orders
	RefundRateByAmount float64 `json:"refund_rate_by_amount"` // refund_amount / gmv

	UniqueViewers         uint64 `json:"unique_viewers"`
	ConcurrentViewers     uint64 `json:"concurrent_viewers"`
	PeakConcurrentViewers uint64 `json:"peak_concurrent_viewers"`
	ReportedViewers       uint64 `json:"reported_viewers"`

	ConversionRate      float64 `json:"conversion_rate"` // buyers / unique_viewers
	GPM                 Money   `json:"gpm"`             // gmv per 1000 unique viewers
	Joins               uint64  `json:"joins"`
	Engagements         uint64  `json:"engagements"`
	EngagementPerViewer float64 `json:"engagement_per_viewer"`
	AvgWatchSeconds     float64 `json:"avg_watch_seconds"` // over the sessions that ended in range

	LateEvents            uint64 `json:"late_events"` // raw events stored with late = 1 (not counted above)
	UnmatchedRefunds      uint64 `json:"unmatched_refunds"`
	UnmatchedRefundAmount Money  `json:"unmatched_refund_amount"`
	StreamCount           uint64 `json:"stream_count"` // streams with rollup rows in range
}

// StreamFigures is one stream's figures.
type StreamFigures struct {
	StreamID string `json:"stream_id"`
	KOLID    string `json:"kol_id"`
	BrandID  string `json:"brand_id"`
	Platform string `json:"platform"`
	Figures
}

// KOLFigures is one KOL's figures, over all their streams.
type KOLFigures struct {
	KOLID string `json:"kol_id"`
	Figures
}

// PlatformFigures is one platform's figures.
type PlatformFigures struct {
	Platform string `json:"platform"`
	Figures
}

// BrandFigures is one brand's figures.
type BrandFigures struct {
	BrandID string `json:"brand_id"`
	Figures
}

// LiveReport is the /api/live response (and the data of each /api/live/stream event).
type LiveReport struct {
	From       string            `json:"from"`
	To         string            `json:"to"`
	Global     Figures           `json:"global"`
	TopStreams []StreamFigures   `json:"top_streams"`
	TopKOLs    []KOLFigures      `json:"top_kols"`
	Platforms  []PlatformFigures `json:"platforms"`
	Brands     []BrandFigures    `json:"brands"`
	AsOf       *string           `json:"as_of"` // the latest minute with rollup data in range; null: none
}

// MinutePoint is one minute of a stream's or KOL's series, summed over partitions (and, for a
// KOL, over their streams: buyers and unique_viewers are then sums of per-stream distinct counts).
type MinutePoint struct {
	Minute                string `json:"minute"`
	GMV                   Money  `json:"gmv"`
	Orders                uint64 `json:"orders"`
	Buyers                uint64 `json:"buyers"`
	Refunds               uint64 `json:"refunds"`
	RefundAmount          Money  `json:"refund_amount"`
	Joins                 uint64 `json:"joins"`
	UniqueViewers         uint64 `json:"unique_viewers"`
	ConcurrentViewers     uint64 `json:"concurrent_viewers"`
	PeakConcurrentViewers uint64 `json:"peak_concurrent_viewers"`
	ReportedViewers       uint64 `json:"reported_viewers"`
	Engagements           uint64 `json:"engagements"`
}

// StreamDetail is the /api/streams/{id} response.
type StreamDetail struct {
	From string  `json:"from"`
	To   string  `json:"to"`
	AsOf *string `json:"as_of"`
	StreamFigures
	Minutes []MinutePoint `json:"minutes"`
}

// KOLDetail is the /api/kols/{id} response.
type KOLDetail struct {
	From string  `json:"from"`
	To   string  `json:"to"`
	AsOf *string `json:"as_of"`
	KOLFigures
	Streams []StreamFigures `json:"streams"`
	Minutes []MinutePoint   `json:"minutes"`
}

// sqlString returns s as a ClickHouse string literal. Backslash and quote are escaped so the
// literal cannot end early; control bytes are written as \xHH so that a NUL cannot cut the
// statement short where it passes through a C string (the embedded engine's API) and no other
// byte can confuse a log or the lexer. Other bytes, UTF-8 or not, stand for themselves.
func sqlString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02X`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// sqlTime returns t as a DateTime64(3, 'UTC') expression, comparable with the tables' columns.
func sqlTime(t time.Time) string {
	return "toDateTime64('" + t.UTC().Format("2006-01-02 15:04:05.000") + "', 3, 'UTC')"
}

// scope restricts the rows a query reads: everything, one stream or one KOL. The condition
// holds on the rollup and on the raw tables alike (both carry stream_id and kol_id).
type scope struct{ cond string }

var everything = scope{cond: "true"}

func streamScope(id string) scope { return scope{cond: "stream_id = " + sqlString(id)} }
func kolScope(id string) scope    { return scope{cond: "kol_id = " + sqlString(id)} }

// dimension is what a figures query groups by: an expression over the columns the rollup and
// the raw tables share. Only these fixed expressions reach the SQL, never user input.
type dimension struct{ key string }

var (
	byNothing  = dimension{key: "''"}
	byStream   = dimension{key: "stream_id"}
	byKOL      = dimension{key: "kol_id"}
	byPlatform = dimension{key: "toString(platform)"}
	byBrand    = dimension{key: "toString(brand_id)"}
)

// rollupCTE is the rollup as readers must see it. The aggregates over it name their results
// apart from its columns (total_orders, not orders), so no alias shadows a column it aggregates
// on either analyzer.
const rollupCTE = `
    -- The rollup rows in range and scope. FINAL keeps the highest version of each (stream_id,
    -- minute, kafka_partition) row, so a re-emitted minute replaces its earlier emission. A
    -- stream-minute's rows from several partitions stay separate rows: a sum over a group adds
    -- them anyway, and where a minute's total matters (peaks, the live figures) the minute is a
    -- grouping key. (Summing per stream and minute first would cost a String-keyed aggregation
    -- with a group per row, the most expensive step of these queries.) Every row carries its
    -- stream's kol_id, brand_id and platform.
    rollup AS
    (
        SELECT *
        FROM stream_metrics_1m FINAL
        WHERE minute >= {from} AND minute < {to} AND {scope}
    )`

// figuresSQL returns one row per group: the figure set of each group of the scope's data.
const figuresSQL = `WITH` + rollupCTE + `,

    -- The freshest minute in range, of any stream in or out of scope: a stream is live when its
    -- own latest minute is at most one minute older (the latest two minutes), so a page about
    -- one stream agrees with the global figures about whether it is live.
    freshest AS
    (
        SELECT max(minute) AS as_of
        FROM stream_metrics_1m FINAL
        WHERE minute >= {from} AND minute < {to}
    ),

    group_totals AS
    (
        SELECT
            {key} AS group_key,
            uniqExact(stream_id) AS total_streams,
            toString(anyIf(kol_id, kol_id != '')) AS stream_kol,
            toString(anyIf(brand_id, brand_id != '')) AS stream_brand,
            toString(anyIf(platform, platform != '')) AS stream_platform,
            toInt64(sum(gmv) * 100) AS gmv_cents,
            sum(orders) AS total_orders,
            sum(refunds) AS total_refunds,
            toInt64(sum(refund_amount) * 100) AS refund_cents,
            sum(refunded_orders) AS total_refunded_orders,
            sum(unmatched_refunds) AS total_unmatched_refunds,
            toInt64(sum(unmatched_refund_amount) * 100) AS unmatched_refund_cents,
            sum(joins) AS total_joins,
            sum(engagements) AS total_engagements,
            sum(sessions_ended) AS total_sessions_ended,
            sum(watch_ms_ended) AS total_watch_ms
        FROM rollup
        GROUP BY group_key
    ),

    -- A top-N list computes the costlier figures (per-minute peaks, distinct buyers and viewers)
    -- for its top groups only. Ranked by rollup GMV, as the list is.
    top_groups AS
    (
        SELECT group_key
        FROM group_totals
        ORDER BY gmv_cents DESC, total_orders DESC, group_key
        {limit}
    ),

    -- The peak: the largest per-minute sum of the streams' peaks. An upper bound of the true
    -- peak: the streams' peaks within one minute need not happen at the same moment.
    group_peaks AS
    (
        SELECT group_key, max(minute_peak) AS peak_concurrent
        FROM
        (
            SELECT {key} AS group_key, minute, sum(peak_concurrent_viewers) AS minute_peak
            FROM rollup
            WHERE true {top_filter}
            GROUP BY group_key, minute
        )
        GROUP BY group_key
    ),

    -- The last two minutes of data: all that the live figures need.
    recent AS
    (
        SELECT *
        FROM rollup
        WHERE minute >= (SELECT as_of FROM freshest) - INTERVAL 1 MINUTE
    ),

    -- Each live stream's latest minute, and its latest minute with a displayed count (a minute
    -- without count events reports 0, which means "none", not "nobody watching").
    stream_latest AS
    (
        SELECT stream_id, max(minute) AS last_minute, maxIf(minute, count_events > 0) AS last_count_minute
        FROM recent
        GROUP BY stream_id
    ),

    -- Now: what the live streams' latest minute showed, summed. A stream whose data stopped
    -- before the latest two minutes has ended and no longer counts.
    group_now AS
    (
        SELECT
            {key} AS group_key,
            sumIf(concurrent_viewers, minute = last_minute) AS now_concurrent,
            sumIf(reported_viewers, minute = last_count_minute) AS now_reported
        FROM recent
        INNER JOIN stream_latest USING (stream_id)
        GROUP BY group_key
    ),

    -- The raw events in range, one narrow row each: distinct buyers and viewers (late = 0) and
    -- the late events. Displayed-count events carry no viewer. A stream_id filter of a top-N
    -- list also lets the primary key skip the other streams' rows.
    raw_events AS
    (
        SELECT {key} AS group_key, 'order' AS source, buyer_id AS who, late
        FROM orders
        WHERE ts >= {from} AND ts < {to} AND {scope} {top_filter}
        UNION ALL
        SELECT {key} AS group_key, if(action = 'count', 'count', 'viewer') AS source, viewer_id AS who, late
        FROM viewer_events
        WHERE ts >= {from} AND ts < {to} AND {scope} {top_filter}
        UNION ALL
        SELECT {key} AS group_key, 'refund' AS source, '' AS who, late
        FROM refunds
        WHERE ts >= {from} AND ts < {to} AND {scope} {top_filter}
    ),

    raw_totals AS
    (
        SELECT
            group_key,
            uniqCombinedIf(who, source = 'order' AND late = 0) AS buyers,
            uniqCombinedIf(who, source = 'viewer' AND late = 0) AS unique_viewers,
            countIf(late = 1) AS late_events
        FROM raw_events
        GROUP BY group_key
    )

-- A FULL JOIN: a group may have raw events and no rollup rows yet (the rollup lags by up to a
-- minute), or rollup rows and no raw events in range (a refund of an earlier order).
SELECT
    group_key,
    total_streams, stream_kol, stream_brand, stream_platform,
    gmv_cents, total_orders, total_refunds, refund_cents, total_refunded_orders,
    total_unmatched_refunds, unmatched_refund_cents,
    total_joins, total_engagements, total_sessions_ended, total_watch_ms,
    peak_concurrent, now_concurrent, now_reported,
    buyers, unique_viewers, late_events,
    toUnixTimestamp64Milli((SELECT as_of FROM freshest)) AS as_of_ms
FROM group_totals
FULL OUTER JOIN raw_totals USING (group_key)
LEFT JOIN group_peaks USING (group_key)
LEFT JOIN group_now USING (group_key)
ORDER BY gmv_cents DESC, total_orders DESC, group_key
{limit}
SETTINGS join_use_nulls = 0, output_format_json_quote_64bit_integers = 1`

// topFilter keeps a top-N list's costlier figures to its top groups.
const topFilter = `AND {key} IN (SELECT group_key FROM top_groups)`

// minutesSQL returns the scope's minute series, summed over partitions and streams.
const minutesSQL = `WITH` + rollupCTE + `
SELECT
    toUnixTimestamp64Milli(minute) AS minute_ms,
    toInt64(sum(gmv) * 100) AS gmv_cents,
    sum(orders) AS total_orders,
    sum(buyers) AS total_buyers,
    sum(refunds) AS total_refunds,
    toInt64(sum(refund_amount) * 100) AS refund_cents,
    sum(joins) AS total_joins,
    sum(unique_viewers) AS total_unique_viewers,
    sum(concurrent_viewers) AS total_concurrent,
    sum(peak_concurrent_viewers) AS total_peak,
    sum(reported_viewers) AS total_reported,
    sum(engagements) AS total_engagements
FROM rollup
GROUP BY minute
ORDER BY minute
SETTINGS output_format_json_quote_64bit_integers = 1`

// timeRange is [from, to), whole minutes (the rollup's grain).
type timeRange struct{ from, to time.Time }

func (q *querier) render(tmpl string, r timeRange, sc scope, d dimension, limit int) string {
	lim, filter := "", ""
	if limit > 0 {
		lim, filter = "LIMIT "+strconv.Itoa(limit), topFilter
	}
	// Two passes: the filter holds placeholders of its own.
	tmpl = strings.ReplaceAll(tmpl, "{top_filter}", filter)
	return strings.NewReplacer(
		"{from}", sqlTime(r.from),
		"{to}", sqlTime(r.to),
		"{scope}", sc.cond,
		"{key}", d.key,
		"{limit}", lim,
	).Replace(tmpl)
}

// querier runs the figures queries against a store.
type querier struct {
	st  *store.Store
	loc *time.Location
}

// chNum is a ClickHouse integer in JSON: quoted (64-bit integers, by default) or not.
type chNum int64

func (n *chNum) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseInt(string(bytes.Trim(b, `"`)), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*n = chNum(v)
	return nil
}

func (n chNum) u() uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n)
}

type figuresRow struct {
	GroupKey              string `json:"group_key"`
	Streams               chNum  `json:"total_streams"`
	KOLID                 string `json:"stream_kol"`
	BrandID               string `json:"stream_brand"`
	Platform              string `json:"stream_platform"`
	GMVCents              chNum  `json:"gmv_cents"`
	Orders                chNum  `json:"total_orders"`
	Refunds               chNum  `json:"total_refunds"`
	RefundCents           chNum  `json:"refund_cents"`
	RefundedOrders        chNum  `json:"total_refunded_orders"`
	UnmatchedRefunds      chNum  `json:"total_unmatched_refunds"`
	UnmatchedRefundCents  chNum  `json:"unmatched_refund_cents"`
	Joins                 chNum  `json:"total_joins"`
	Engagements           chNum  `json:"total_engagements"`
	SessionsEnded         chNum  `json:"total_sessions_ended"`
	WatchMS               chNum  `json:"total_watch_ms"`
	PeakConcurrentViewers chNum  `json:"peak_concurrent"`
	ConcurrentViewers     chNum  `json:"now_concurrent"`
	ReportedViewers       chNum  `json:"now_reported"`
	Buyers                chNum  `json:"buyers"`
	UniqueViewers         chNum  `json:"unique_viewers"`
	LateEvents            chNum  `json:"late_events"`
	AsOfMS                chNum  `json:"as_of_ms"`
}

// figures derives the figure set from a row's sums.
func (r *figuresRow) figures() Figures {
	f := Figures{
		GMV:                   Money(r.GMVCents),
		RefundAmount:          Money(r.RefundCents),
		Orders:                r.Orders.u(),
		Buyers:                r.Buyers.u(),
		Refunds:               r.Refunds.u(),
		RefundedOrders:        r.RefundedOrders.u(),
		UniqueViewers:         r.UniqueViewers.u(),
		ConcurrentViewers:     r.ConcurrentViewers.u(),
		PeakConcurrentViewers: r.PeakConcurrentViewers.u(),
		ReportedViewers:       r.ReportedViewers.u(),
		Joins:                 r.Joins.u(),
		Engagements:           r.Engagements.u(),
		LateEvents:            r.LateEvents.u(),
		UnmatchedRefunds:      r.UnmatchedRefunds.u(),
		UnmatchedRefundAmount: Money(r.UnmatchedRefundCents),
		StreamCount:           r.Streams.u(),
	}
	f.NetGMV = f.GMV - f.RefundAmount
	if f.Orders > 0 && f.GMV > 0 {
		f.AOV = Money(divHalfUp(big.NewInt(int64(f.GMV)), f.Orders))
	}
	if f.UniqueViewers > 0 && f.GMV > 0 {
		f.GPM = Money(divHalfUp(new(big.Int).Mul(big.NewInt(int64(f.GMV)), big.NewInt(1000)), f.UniqueViewers))
	}
	f.RefundRate = ratio(f.RefundedOrders, f.Orders)
	if f.GMV > 0 {
		f.RefundRateByAmount = ratio(int64(f.RefundAmount), int64(f.GMV))
	}
	f.ConversionRate = ratio(f.Buyers, f.UniqueViewers)
	f.EngagementPerViewer = ratio(f.Engagements, f.UniqueViewers)
	f.AvgWatchSeconds = ratio(r.WatchMS.u(), r.SessionsEnded.u()) / 1000
	return f
}

func (r *figuresRow) stream() StreamFigures {
	return StreamFigures{StreamID: r.GroupKey, KOLID: r.KOLID, BrandID: r.BrandID, Platform: r.Platform, Figures: r.figures()}
}

type minuteRow struct {
	MinuteMS              chNum `json:"minute_ms"`
	GMVCents              chNum `json:"gmv_cents"`
	Orders                chNum `json:"total_orders"`
	Buyers                chNum `json:"total_buyers"`
	Refunds               chNum `json:"total_refunds"`
	RefundCents           chNum `json:"refund_cents"`
	Joins                 chNum `json:"total_joins"`
	UniqueViewers         chNum `json:"total_unique_viewers"`
	ConcurrentViewers     chNum `json:"total_concurrent"`
	PeakConcurrentViewers chNum `json:"total_peak"`
	ReportedViewers       chNum `json:"total_reported"`
	Engagements           chNum `json:"total_engagements"`
}

func (q *querier) figures(ctx context.Context, r timeRange, sc scope, d dimension, limit int) ([]figuresRow, error) {
	return store.QueryRows[figuresRow](ctx, q.st, q.render(figuresSQL, r, sc, d, limit))
}

func (q *querier) minutes(ctx context.Context, r timeRange, sc scope) ([]MinutePoint, error) {
	rows, err := store.QueryRows[minuteRow](ctx, q.st, q.render(minutesSQL, r, sc, byNothing, 0))
	if err != nil {
		return nil, err
	}
	pts := make([]MinutePoint, len(rows))
	for i, m := range rows {
		pts[i] = MinutePoint{
			Minute:                q.formatTime(time.UnixMilli(int64(m.MinuteMS))),
			GMV:                   Money(m.GMVCents),
			Orders:                m.Orders.u(),
			Buyers:                m.Buyers.u(),
			Refunds:               m.Refunds.u(),
			RefundAmount:          Money(m.RefundCents),
			Joins:                 m.Joins.u(),
			UniqueViewers:         m.UniqueViewers.u(),
			ConcurrentViewers:     m.ConcurrentViewers.u(),
			PeakConcurrentViewers: m.PeakConcurrentViewers.u(),
			ReportedViewers:       m.ReportedViewers.u(),
			Engagements:           m.Engagements.u(),
		}
	}
	return pts, nil
}

// formatTime writes t in RFC 3339 in the configured zone, the way the dashboards show it.
func (q *querier) formatTime(t time.Time) string { return t.In(q.loc).Format(time.RFC3339) }

// asOf returns the freshest minute a query saw, or nil when the range has no rollup rows (the
// engine's max over nothing is the epoch).
func (q *querier) asOf(rows []figuresRow) *string {
	if len(rows) == 0 || rows[0].AsOfMS <= 0 {
		return nil
	}
	s := q.formatTime(time.UnixMilli(int64(rows[0].AsOfMS)))
	return &s
}

// parallel runs fns concurrently and returns the first error. The figures of one response are
// independent queries, and each has stages the engine runs on one thread (reading FINAL, merging
// small aggregations), so side by side they finish sooner when cores are free; on a busy machine
// it costs nothing either.
func parallel(fns ...func() error) error {
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		go func() { errs <- fn() }()
	}
	var first error
	for range fns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// live computes the /api/live report.
func (q *querier) live(ctx context.Context, r timeRange, topN int) (*LiveReport, error) {
	var global, streams, kols, platforms, brands []figuresRow
	err := parallel(
		func() (err error) { global, err = q.figures(ctx, r, everything, byNothing, 0); return },
		func() (err error) { streams, err = q.figures(ctx, r, everything, byStream, topN); return },
		func() (err error) { kols, err = q.figures(ctx, r, everything, byKOL, topN); return },
		func() (err error) { platforms, err = q.figures(ctx, r, everything, byPlatform, 0); return },
		func() (err error) { brands, err = q.figures(ctx, r, everything, byBrand, topN); return },
	)
	if err != nil {
		return nil, err
	}
	rep := &LiveReport{
		From:       q.formatTime(r.from),
		To:         q.formatTime(r.to),
		TopStreams: make([]StreamFigures, 0, len(streams)),
		TopKOLs:    make([]KOLFigures, 0, len(kols)),
		Platforms:  make([]PlatformFigures, 0, len(platforms)),
		Brands:     make([]BrandFigures, 0, len(brands)),
		AsOf:       q.asOf(global),
	}
	if len(global) > 0 { // none: an empty range, all zeros
		rep.Global = global[0].figures()
	}
	for i := range streams {
		rep.TopStreams = append(rep.TopStreams, streams[i].stream())
	}
	for i := range kols {
		rep.TopKOLs = append(rep.TopKOLs, KOLFigures{KOLID: kols[i].GroupKey, Figures: kols[i].figures()})
	}
	for i := range platforms {
		rep.Platforms = append(rep.Platforms, PlatformFigures{Platform: platforms[i].GroupKey, Figures: platforms[i].figures()})
	}
	for i := range brands {
		rep.Brands = append(rep.Brands, BrandFigures{BrandID: brands[i].GroupKey, Figures: brands[i].figures()})
	}
	return rep, nil
}

// stream computes the /api/streams/{id} response; nil when the stream has no data in range.
func (q *querier) stream(ctx context.Context, r timeRange, id string) (*StreamDetail, error) {
	var rows []figuresRow
	var mins []MinutePoint
	sc := streamScope(id)
	err := parallel(
		func() (err error) { rows, err = q.figures(ctx, r, sc, byStream, 0); return },
		func() (err error) { mins, err = q.minutes(ctx, r, sc); return },
	)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return &StreamDetail{
		From:          q.formatTime(r.from),
		To:            q.formatTime(r.to),
		AsOf:          q.asOf(rows),
		StreamFigures: rows[0].stream(),
		Minutes:       nonNil(mins),
	}, nil
}

// kol computes the /api/kols/{id} response; nil when the KOL has no data in range.
func (q *querier) kol(ctx context.Context, r timeRange, id string) (*KOLDetail, error) {
	var total, streams []figuresRow
	var mins []MinutePoint
	sc := kolScope(id)
	err := parallel(
		func() (err error) { total, err = q.figures(ctx, r, sc, byNothing, 0); return },
		func() (err error) { streams, err = q.figures(ctx, r, sc, byStream, 0); return },
		func() (err error) { mins, err = q.minutes(ctx, r, sc); return },
	)
	if err != nil || len(total) == 0 {
		return nil, err
	}
	d := &KOLDetail{
		From:       q.formatTime(r.from),
		To:         q.formatTime(r.to),
		AsOf:       q.asOf(total),
		KOLFigures: KOLFigures{KOLID: id, Figures: total[0].figures()},
		Streams:    make([]StreamFigures, 0, len(streams)),
		Minutes:    nonNil(mins),
	}
	for i := range streams {
		d.Streams = append(d.Streams, streams[i].stream())
	}
	return d, nil
}

// nonNil makes an empty list marshal as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
