package api

// The KOL audit: what GET /api/audit, the board's KOL view and `livepulse audit` show. One
// function computes it (querier.audit); the board reads it over HTTP and the CLI goes through the
// same handler (in process or on the running instance), so they cannot disagree.

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
)

// ErrNoAuditData is returned when neither the KOL nor the brand has data in the range.
var ErrNoAuditData = errors.New("no data for this KOL or brand in the range")

// auditRequest selects an audit: a KOL, a brand's KOLs, or a KOL within one brand.
type auditRequest struct {
	kolID, brandID string
	r              timeRange
}

// listScope is the rows of the scorecards: the brand's when there is a brand (its KOLs side by
// side), else the KOL's.
func (a auditRequest) listScope() scope {
	if a.brandID != "" {
		return auditRequest{brandID: a.brandID}.scope()
	}
	return kolScope(a.kolID)
}

// scope is the rows of the selected KOL's minute series: the KOL's, restricted to the brand's
// streams when there is a brand.
func (a auditRequest) scope() scope {
	var conds []string
	if a.kolID != "" {
		conds = append(conds, kolScope(a.kolID).cond)
	}
	if a.brandID != "" {
		conds = append(conds, "toString(brand_id) = "+sqlString(a.brandID))
	}
	return scope{cond: strings.Join(conds, " AND ")}
}

// AuditReport is the /api/audit response.
type AuditReport struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	KOLID   string  `json:"kol_id"`   // "" when the audit is of a brand's KOLs
	BrandID string  `json:"brand_id"` // "" when the audit is of one KOL across brands
	AsOf    *string `json:"as_of"`
	// KOLs are the scorecards, by GMV: the KOL alone, or every KOL of the brand side by side
	// (each counted on the brand's streams only), the requested one marked Selected.
	KOLs []KOLScorecard `json:"kols"`
	// Minutes is the selected KOL's minute series (empty for a brand without a KOL).
	Minutes []MinutePoint `json:"minutes"`
}

// KOLScorecard is one KOL's audit figures over the range.
type KOLScorecard struct {
	KOLID    string `json:"kol_id"`
	Selected bool   `json:"selected"`
	Figures
	// PeakDisplayedViewers is the largest per-minute sum of the displayed counts the platform
	// showed on the KOL's streams; DisplayedToMeasured divides it by the measured peak
	// (peak_concurrent_viewers): far above 1 means the displayed audience was inflated.
	PeakDisplayedViewers uint64        `json:"peak_displayed_viewers"`
	DisplayedToMeasured  float64       `json:"displayed_to_measured"`
	FlagCount            int           `json:"flag_count"`
	Flags                []AuditFlag   `json:"flags"`
	Streams              []AuditStream `json:"streams"`
}

// AuditStream is one stream of a scorecard, with where its minute series is.
type AuditStream struct {
	StreamFigures
	MinutesURL string `json:"minutes_url"`
}

// AuditFlag is the latest emission of a flag raised on one of the KOL's streams in range.
type AuditFlag struct {
	FlagID      string          `json:"flag_id"`
	Kind        string          `json:"kind"`
	StreamID    string          `json:"stream_id"`
	Severity    string          `json:"severity"`
	Score       float64         `json:"score"`
	State       string          `json:"state"`
	WindowStart string          `json:"window_start"`
	WindowEnd   string          `json:"window_end"`
	DetectedAt  string          `json:"detected_at"`
	Summary     string          `json:"summary"`
	Evidence    json.RawMessage `json:"evidence"`
	Replayed    bool            `json:"replayed"`
}

// peaksSQL returns per KOL the largest per-minute sum of displayed counts.
const peaksSQL = `WITH` + rollupCTE + `
SELECT kol_id AS group_key, max(minute_reported) AS peak_reported
FROM
(
    SELECT kol_id, minute, sum(reported_viewers) AS minute_reported
    FROM rollup
    GROUP BY kol_id, minute
)
GROUP BY group_key
SETTINGS output_format_json_quote_64bit_integers = 1`

// auditFlagsSQL returns the latest emission of each flag in scope whose evidence overlaps the
// range. Aliases differ from the columns the WHERE clause reads.
const auditFlagsSQL = `SELECT
    flag_id, toString(kind) AS flag_kind, stream_id AS flag_stream, kol_id AS flag_kol,
    toString(severity) AS flag_severity, score, toString(state) AS flag_state, summary, evidence, replayed,
    toUnixTimestamp64Milli(window_start) AS window_start_ms, toUnixTimestamp64Milli(window_end) AS window_end_ms,
    toUnixTimestamp64Milli(detected_at) AS detected_at_ms
FROM anomaly_flags FINAL
WHERE {scope} AND replay_id = '' AND window_start < {to} AND window_end >= {from}
ORDER BY detected_at_ms DESC, flag_id
LIMIT 10000
SETTINGS output_format_json_quote_64bit_integers = 1`

type peakRow struct {
	KOLID        string `json:"group_key"`
	PeakReported chNum  `json:"peak_reported"`
}

type auditFlagRow struct {
	FlagID        string  `json:"flag_id"`
	Kind          string  `json:"flag_kind"`
	StreamID      string  `json:"flag_stream"`
	KOLID         string  `json:"flag_kol"`
	Severity      string  `json:"flag_severity"`
	Score         float64 `json:"score"`
	State         string  `json:"flag_state"`
	Summary       string  `json:"summary"`
	Evidence      string  `json:"evidence"`
	Replayed      chNum   `json:"replayed"`
	WindowStartMS chNum   `json:"window_start_ms"`
	WindowEndMS   chNum   `json:"window_end_ms"`
	DetectedAtMS  chNum   `json:"detected_at_ms"`
}

func (q *querier) auditFlag(f auditFlagRow) AuditFlag {
	ev := json.RawMessage(f.Evidence)
	if !json.Valid(ev) {
		ev = json.RawMessage("null")
	}
	return AuditFlag{
		FlagID: f.FlagID, Kind: f.Kind, StreamID: f.StreamID, Severity: f.Severity, Score: f.Score, State: f.State,
		WindowStart: q.formatTime(time.UnixMilli(int64(f.WindowStartMS))),
		WindowEnd:   q.formatTime(time.UnixMilli(int64(f.WindowEndMS))),
		DetectedAt:  q.formatTime(time.UnixMilli(int64(f.DetectedAtMS))),
		Summary:     f.Summary, Evidence: ev, Replayed: f.Replayed == 1,
	}
}

// audit computes the audit; ErrNoAuditData when the scope has no data in range.
func (q *querier) audit(ctx context.Context, req auditRequest) (*AuditReport, error) {
	sc := req.listScope()
	var kols, streams []figuresRow
	var peaks []peakRow
	var flags []auditFlagRow
	var mins []MinutePoint
	fns := []func() error{
		func() (err error) { kols, err = q.figures(ctx, req.r, sc, byKOL, 0); return },
		func() (err error) { streams, err = q.figures(ctx, req.r, sc, byStream, 0); return },
		func() (err error) {
			peaks, err = store.QueryRows[peakRow](ctx, q.st, q.render(peaksSQL, req.r, sc, byNothing, 0))
			return
		},
		func() (err error) {
			flags, err = store.QueryRows[auditFlagRow](ctx, q.st, q.render(auditFlagsSQL, req.r, sc, byNothing, 0))
			return
		},
	}
	if req.kolID != "" {
		fns = append(fns, func() (err error) { mins, err = q.minutes(ctx, req.r, req.scope()); return })
	}
	if err := parallel(fns...); err != nil {
		return nil, err
	}
	if len(kols) == 0 || req.kolID != "" && !slices.ContainsFunc(kols, func(k figuresRow) bool { return k.GroupKey == req.kolID }) {
		return nil, ErrNoAuditData
	}
	rep := &AuditReport{
		From: q.formatTime(req.r.from), To: q.formatTime(req.r.to), KOLID: req.kolID, BrandID: req.brandID,
		AsOf: q.asOf(kols), KOLs: make([]KOLScorecard, 0, len(kols)), Minutes: nonNil(mins),
	}
	index := make(map[string]int, len(kols))
	for i := range kols {
		index[kols[i].GroupKey] = i
		rep.KOLs = append(rep.KOLs, KOLScorecard{
			KOLID: kols[i].GroupKey, Selected: kols[i].GroupKey == req.kolID, Figures: kols[i].figures(),
			Flags: []AuditFlag{}, Streams: []AuditStream{},
		})
	}
	for _, p := range peaks {
		if i, ok := index[p.KOLID]; ok {
			card := &rep.KOLs[i]
			card.PeakDisplayedViewers = p.PeakReported.u()
			card.DisplayedToMeasured = ratio(card.PeakDisplayedViewers, card.PeakConcurrentViewers)
		}
	}
	rangeQuery := "?" + url.Values{"from": {rep.From}, "to": {rep.To}}.Encode()
	for i := range streams {
		s := streams[i].stream()
		if j, ok := index[s.KOLID]; ok {
			rep.KOLs[j].Streams = append(rep.KOLs[j].Streams, AuditStream{StreamFigures: s,
				MinutesURL: "/api/streams/" + url.PathEscape(s.StreamID) + rangeQuery})
		}
	}
	for _, f := range flags {
		if j, ok := index[f.KOLID]; ok {
			rep.KOLs[j].Flags = append(rep.KOLs[j].Flags, q.auditFlag(f))
			rep.KOLs[j].FlagCount++
		}
	}
	return rep, nil
}
