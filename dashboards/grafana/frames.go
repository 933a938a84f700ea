package grafana

import (
	"encoding/json"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Field builders. Money fields show two decimals; rates are fractions (Grafana's percentunit).
// Fields keep the API's names and no display names: dashboards select and rename fields by the
// names Grafana displays, so those must stay as stable as the API's.

func moneyField(name string, vals []float64) *data.Field {
	return data.NewField(name, nil, vals).SetConfig((&data.FieldConfig{}).SetDecimals(2))
}

func rateField(name string, vals []float64) *data.Field {
	return data.NewField(name, nil, vals).SetConfig(&data.FieldConfig{Unit: "percentunit"})
}

// column gathers one field's values over rows.
func column[R, V any](rows []R, get func(*R) V) []V {
	out := make([]V, len(rows))
	for i := range rows {
		out[i] = get(&rows[i])
	}
	return out
}

// tickerFrame is the live ticker: one row of today's platform-wide figures, stamped with the
// time it was read (at) and the freshest minute it includes (as_of, null before any data).
func tickerFrame(rep *liveReport, at time.Time) *data.Frame {
	g := rep.Global
	var asOf *time.Time
	if rep.AsOf != nil {
		t := rep.AsOf.Time
		asOf = &t
	}
	return data.NewFrame("live",
		data.NewField("time", nil, []time.Time{at.UTC()}),
		data.NewField("as_of", nil, []*time.Time{asOf}),
		moneyField("gmv", []float64{float64(g.GMV)}),
		moneyField("net_gmv", []float64{float64(g.NetGMV)}),
		data.NewField("orders", nil, []uint64{g.Orders}),
		data.NewField("buyers", nil, []uint64{g.Buyers}),
		moneyField("aov", []float64{float64(g.AOV)}),
		data.NewField("refunds", nil, []uint64{g.Refunds}),
		moneyField("refund_amount", []float64{float64(g.RefundAmount)}),
		rateField("refund_rate", []float64{g.RefundRate}),
		data.NewField("unique_viewers", nil, []uint64{g.UniqueViewers}),
		data.NewField("concurrent_viewers", nil, []uint64{g.ConcurrentViewers}),
		data.NewField("reported_viewers", nil, []uint64{g.ReportedViewers}),
		rateField("conversion_rate", []float64{g.ConversionRate}),
		moneyField("gpm", []float64{float64(g.GPM)}),
		data.NewField("live_streams", nil, []uint64{g.StreamCount}),
		data.NewField("late_events", nil, []uint64{g.LateEvents}),
	)
}

func topKOLsFrame(rows []kolFigures) *data.Frame {
	return data.NewFrame("top_kols",
		data.NewField("kol_id", nil, column(rows, func(r *kolFigures) string { return r.KOLID })),
		moneyField("gmv", column(rows, func(r *kolFigures) float64 { return float64(r.GMV) })),
		data.NewField("orders", nil, column(rows, func(r *kolFigures) uint64 { return r.Orders })),
		data.NewField("buyers", nil, column(rows, func(r *kolFigures) uint64 { return r.Buyers })),
		rateField("refund_rate", column(rows, func(r *kolFigures) float64 { return r.RefundRate })),
		data.NewField("unique_viewers", nil, column(rows, func(r *kolFigures) uint64 { return r.UniqueViewers })),
		data.NewField("concurrent_viewers", nil, column(rows, func(r *kolFigures) uint64 { return r.ConcurrentViewers })),
		rateField("conversion_rate", column(rows, func(r *kolFigures) float64 { return r.ConversionRate })),
		moneyField("gpm", column(rows, func(r *kolFigures) float64 { return float64(r.GPM) })),
	)
}

func topStreamsFrame(rows []streamFigures) *data.Frame {
	return data.NewFrame("top_streams",
		data.NewField("stream_id", nil, column(rows, func(r *streamFigures) string { return r.StreamID })),
		data.NewField("kol_id", nil, column(rows, func(r *streamFigures) string { return r.KOLID })),
		data.NewField("brand_id", nil, column(rows, func(r *streamFigures) string { return r.BrandID })),
		data.NewField("platform", nil, column(rows, func(r *streamFigures) string { return r.Platform })),
		moneyField("gmv", column(rows, func(r *streamFigures) float64 { return float64(r.GMV) })),
		data.NewField("orders", nil, column(rows, func(r *streamFigures) uint64 { return r.Orders })),
		data.NewField("buyers", nil, column(rows, func(r *streamFigures) uint64 { return r.Buyers })),
		rateField("refund_rate", column(rows, func(r *streamFigures) float64 { return r.RefundRate })),
		data.NewField("concurrent_viewers", nil, column(rows, func(r *streamFigures) uint64 { return r.ConcurrentViewers })),
		data.NewField("reported_viewers", nil, column(rows, func(r *streamFigures) uint64 { return r.ReportedViewers })),
	)
}

// platformSplitFrame has each platform's share of the range's GMV (0 when the range has none).
func platformSplitFrame(rows []platformFigures, total money) *data.Frame {
	return data.NewFrame("platform_split",
		data.NewField("platform", nil, column(rows, func(r *platformFigures) string { return r.Platform })),
		moneyField("gmv", column(rows, func(r *platformFigures) float64 { return float64(r.GMV) })),
		rateField("gmv_share", column(rows, func(r *platformFigures) float64 {
			if total == 0 {
				return 0
			}
			return float64(r.GMV) / float64(total)
		})),
		data.NewField("orders", nil, column(rows, func(r *platformFigures) uint64 { return r.Orders })),
		data.NewField("buyers", nil, column(rows, func(r *platformFigures) uint64 { return r.Buyers })),
		data.NewField("concurrent_viewers", nil, column(rows, func(r *platformFigures) uint64 { return r.ConcurrentViewers })),
	)
}

// gmvMinutesFrame is GMV, orders and refunded amount per minute.
func gmvMinutesFrame(name string, pts []minutePoint) *data.Frame {
	return data.NewFrame(name,
		data.NewField("time", nil, column(pts, func(p *minutePoint) time.Time { return p.Minute.Time })),
		moneyField("gmv", column(pts, func(p *minutePoint) float64 { return float64(p.GMV) })),
		data.NewField("orders", nil, column(pts, func(p *minutePoint) uint64 { return p.Orders })),
		moneyField("refund_amount", column(pts, func(p *minutePoint) float64 { return float64(p.RefundAmount) })),
	)
}

// streamMinutesFrame is a stream's minutes for trust and safety: viewers measured (open sessions)
// against displayed (the platform's count; null in a minute without one, rather than a drop to
// 0), orders and refunds.
func streamMinutesFrame(name string, pts []minutePoint) *data.Frame {
	return data.NewFrame(name,
		data.NewField("time", nil, column(pts, func(p *minutePoint) time.Time { return p.Minute.Time })),
		data.NewField("concurrent_viewers", nil, column(pts, func(p *minutePoint) uint64 { return p.ConcurrentViewers })),
		data.NewField("reported_viewers", nil, column(pts, func(p *minutePoint) *uint64 {
			if p.ReportedViewers == 0 {
				return nil
			}
			v := p.ReportedViewers
			return &v
		})),
		data.NewField("peak_concurrent_viewers", nil, column(pts, func(p *minutePoint) uint64 { return p.PeakConcurrentViewers })),
		data.NewField("unique_viewers", nil, column(pts, func(p *minutePoint) uint64 { return p.UniqueViewers })),
		data.NewField("engagements", nil, column(pts, func(p *minutePoint) uint64 { return p.Engagements })),
		data.NewField("orders", nil, column(pts, func(p *minutePoint) uint64 { return p.Orders })),
		data.NewField("refunds", nil, column(pts, func(p *minutePoint) uint64 { return p.Refunds })),
		moneyField("gmv", column(pts, func(p *minutePoint) float64 { return float64(p.GMV) })),
		moneyField("refund_amount", column(pts, func(p *minutePoint) float64 { return float64(p.RefundAmount) })),
	)
}

// flagsFrame is a table of flags with their evidence: the summary in words, and the whole
// evidence (fired signals, values, baselines) as JSON.
func flagsFrame(flags []flagRow) *data.Frame {
	summary := func(f *flagRow) string {
		var ev struct {
			Summary string `json:"summary"`
		}
		_ = json.Unmarshal(f.Evidence, &ev) // evidence that is not an object has no summary
		return ev.Summary
	}
	evidence := func(f *flagRow) json.RawMessage {
		if len(f.Evidence) == 0 {
			return json.RawMessage("null")
		}
		return f.Evidence
	}
	return data.NewFrame("flags",
		data.NewField("detected_at", nil, column(flags, func(f *flagRow) time.Time { return f.DetectedAt.Time })),
		data.NewField("kind", nil, column(flags, func(f *flagRow) string { return f.Kind })),
		data.NewField("severity", nil, column(flags, func(f *flagRow) string { return f.Severity })),
		data.NewField("score", nil, column(flags, func(f *flagRow) float64 { return f.Score })),
		data.NewField("state", nil, column(flags, func(f *flagRow) string { return f.State })),
		data.NewField("stream_id", nil, column(flags, func(f *flagRow) string { return f.StreamID })),
		data.NewField("kol_id", nil, column(flags, func(f *flagRow) string { return f.KOLID })),
		data.NewField("brand_id", nil, column(flags, func(f *flagRow) string { return f.BrandID })),
		data.NewField("platform", nil, column(flags, func(f *flagRow) string { return f.Platform })),
		data.NewField("summary", nil, column(flags, summary)),
		data.NewField("window_start", nil, column(flags, func(f *flagRow) time.Time { return f.WindowStart.Time })),
		data.NewField("window_end", nil, column(flags, func(f *flagRow) time.Time { return f.WindowEnd.Time })),
		data.NewField("flag_id", nil, column(flags, func(f *flagRow) string { return f.FlagID })),
		data.NewField("replayed", nil, column(flags, func(f *flagRow) bool { return f.Replayed })),
		data.NewField("evidence", nil, column(flags, evidence)),
	)
}
