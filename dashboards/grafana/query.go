package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Query types: the queryType of a panel's query.
const (
	// QueryLive is today's platform-wide ticker (the API's default range, whatever the panel's),
	// one row; its frame names the Live channel that pushes the next rows every second.
	QueryLive = "live"
	// QueryGMVPerMinute is GMV, orders and refunded amount per minute over the panel's range: of
	// a stream (streamId), a KOL (kolId) or, with neither, the whole platform.
	QueryGMVPerMinute = "gmv_per_minute"
	// QueryStreamMinutes is a stream's minutes: viewers measured and displayed, orders, refunds.
	QueryStreamMinutes = "stream_minutes"
	// QueryFlags is the flags detected in the panel's range, with their evidence; kind, streamId
	// and state narrow it.
	QueryFlags = "flags"
	// QueryTopKOLs, QueryTopStreams and QueryPlatformSplit are the range's rankings and split.
	QueryTopKOLs       = "top_kols"
	QueryTopStreams    = "top_streams"
	QueryPlatformSplit = "platform_split"
)

// QueryTypes lists every query type, for the dashboards' tests.
var QueryTypes = []string{QueryLive, QueryGMVPerMinute, QueryStreamMinutes, QueryFlags, QueryTopKOLs, QueryTopStreams, QueryPlatformSplit}

// ErrBadQuery is a query the plugin cannot answer as asked.
var ErrBadQuery = errors.New("bad query")

// QueryModel is a query's JSON beyond Grafana's own fields (refId, queryType, …).
type QueryModel struct {
	StreamID string `json:"streamId"`
	KOLID    string `json:"kolId"`
	Kind     string `json:"kind"`  // flags: viewer_inflation, refund_spike or order_brushing
	State    string `json:"state"` // flags: open or closed
	Limit    int    `json:"limit"` // flags: at most this many (the API's default 500, max 10000)
}

// QueryData answers each query with its frames; one query's failure does not fail the others.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = d.query(ctx, q)
	}
	return resp, nil
}

func (d *Datasource) query(ctx context.Context, q backend.DataQuery) backend.DataResponse {
	var m QueryModel
	if len(q.JSON) > 0 {
		if err := json.Unmarshal(q.JSON, &m); err != nil {
			return backend.ErrDataResponse(backend.StatusBadRequest, fmt.Sprintf("%v: cannot parse the query: %v", ErrBadQuery, err))
		}
	}
	frames, err := d.frames(ctx, q, m)
	var apiErr *APIError
	switch {
	case errors.Is(err, ErrBadQuery), errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest:
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	case errors.Is(err, ErrUnauthorized):
		return backend.ErrDataResponseWithSource(backend.StatusUnauthorized, backend.ErrorSourceDownstream,
			err.Error()+": check the datasource's token against livepulse's LIVEPULSE_TOKEN")
	case err != nil:
		return backend.ErrDataResponseWithSource(backend.StatusBadGateway, backend.ErrorSourceDownstream, err.Error())
	}
	for _, f := range frames {
		f.RefID = q.RefID
	}
	return backend.DataResponse{Frames: frames}
}

// frames dispatches on the query type.
func (d *Datasource) frames(ctx context.Context, q backend.DataQuery, m QueryModel) (data.Frames, error) {
	tr := q.TimeRange
	switch q.QueryType {
	case QueryLive:
		var rep liveReport
		if err := d.client.getJSON(ctx, "/api/live", nil, &rep); err != nil {
			return nil, err
		}
		f := tickerFrame(&rep, d.now())
		f.SetMeta(&data.FrameMeta{Channel: d.liveChannel()})
		return data.Frames{f}, nil
	case QueryTopKOLs, QueryTopStreams, QueryPlatformSplit:
		var rep liveReport
		if err := d.client.getJSON(ctx, "/api/live", rangeQuery(tr), &rep); err != nil {
			return nil, err
		}
		switch q.QueryType {
		case QueryTopKOLs:
			return data.Frames{topKOLsFrame(rep.TopKOLs)}, nil
		case QueryTopStreams:
			return data.Frames{topStreamsFrame(rep.TopStreams)}, nil
		}
		return data.Frames{platformSplitFrame(rep.Platforms, rep.Global.GMV)}, nil
	case QueryGMVPerMinute:
		switch {
		case m.StreamID != "" && m.KOLID != "":
			return nil, fmt.Errorf("%w: gmv_per_minute takes streamId or kolId, not both", ErrBadQuery)
		case m.StreamID != "":
			return d.detailFrames(ctx, "/api/streams/", m.StreamID, tr, gmvMinutesFrame)
		case m.KOLID != "":
			return d.detailFrames(ctx, "/api/kols/", m.KOLID, tr, gmvMinutesFrame)
		}
		pts, err := d.platformMinutes(ctx, tr)
		if err != nil {
			return nil, err
		}
		return data.Frames{gmvMinutesFrame("gmv_per_minute", pts)}, nil
	case QueryStreamMinutes:
		if m.StreamID == "" {
			return nil, fmt.Errorf("%w: stream_minutes needs a streamId", ErrBadQuery)
		}
		return d.detailFrames(ctx, "/api/streams/", m.StreamID, tr, streamMinutesFrame)
	case QueryFlags:
		return d.flagFrames(ctx, tr, m)
	case "":
		return nil, fmt.Errorf("%w: no queryType (one of %v)", ErrBadQuery, QueryTypes)
	}
	return nil, fmt.Errorf("%w: unknown queryType %q (one of %v)", ErrBadQuery, q.QueryType, QueryTypes)
}

// rangeQuery is the panel's range as the API's from and to. The API widens it to whole minutes.
func rangeQuery(tr backend.TimeRange) url.Values {
	return url.Values{"from": {tr.From.UTC().Format(time.RFC3339)}, "to": {tr.To.UTC().Format(time.RFC3339)}}
}

// detailFrames reads a stream's or KOL's minutes. An id without data in range is an empty frame
// with a notice, not an error: a dashboard variable may name a stream that has not started.
func (d *Datasource) detailFrames(ctx context.Context, prefix, id string, tr backend.TimeRange,
	frame func(name string, pts []minutePoint) *data.Frame) (data.Frames, error) {
	name := id
	var det detail
	err := d.client.getJSON(ctx, prefix+url.PathEscape(id), rangeQuery(tr), &det)
	if errors.Is(err, ErrNotFound) {
		f := frame(name, nil)
		f.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: fmt.Sprintf("no data for %q in this range", id)})
		return data.Frames{f}, nil
	}
	if err != nil {
		return nil, err
	}
	return data.Frames{frame(name, det.Minutes)}, nil
}

// platformMinutes reads the whole platform's minute series (GET /api/live/minutes: every
// stream's minutes summed, as on the built-in board).
func (d *Datasource) platformMinutes(ctx context.Context, tr backend.TimeRange) ([]minutePoint, error) {
	var series struct {
		Minutes []minutePoint `json:"minutes"`
	}
	if err := d.client.getJSON(ctx, "/api/live/minutes", rangeQuery(tr), &series); err != nil {
		return nil, err
	}
	return series.Minutes, nil
}

// flagFrames reads the flags detected from the range's start (the API's since) and keeps those
// detected before its end.
func (d *Datasource) flagFrames(ctx context.Context, tr backend.TimeRange, m QueryModel) (data.Frames, error) {
	qs := url.Values{"since": {tr.From.UTC().Format(time.RFC3339)}}
	for k, v := range map[string]string{"kind": m.Kind, "stream_id": m.StreamID, "kol_id": m.KOLID, "state": m.State} {
		if v != "" {
			qs.Set(k, v)
		}
	}
	if m.Limit != 0 {
		qs.Set("limit", strconv.Itoa(m.Limit))
	}
	var list flagList
	if err := d.client.getJSON(ctx, "/api/flags", qs, &list); err != nil {
		return nil, err
	}
	kept := list.Flags[:0]
	for _, f := range list.Flags {
		if f.DetectedAt.Before(tr.To) {
			kept = append(kept, f)
		}
	}
	return data.Frames{flagsFrame(kept)}, nil
}
