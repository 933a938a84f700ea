package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// liveAPI serves /api/live, /api/live/stream, /api/streams/{id} and /api/kols/{id}.
type liveAPI struct {
	q            querier
	topN         int
	now          func() time.Time
	queryTimeout time.Duration
	log          *slog.Logger
	hub          *liveHub
	heartbeat    time.Duration
	done         <-chan struct{}
}

// newLiveAPI applies the live endpoints' defaults to cfg (whose other defaults Handler has set).
func newLiveAPI(cfg Config) *liveAPI {
	loc := cfg.Location
	if loc == nil {
		loc = defaultLocation()
	}
	if cfg.TopN <= 0 {
		cfg.TopN = 10
	}
	if cfg.LiveInterval <= 0 {
		cfg.LiveInterval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &liveAPI{
		q:            querier{st: cfg.Store, loc: loc},
		topN:         cfg.TopN,
		now:          cfg.Now,
		queryTimeout: cfg.QueryTimeout,
		log:          cfg.Logger,
		heartbeat:    15 * time.Second,
		done:         cfg.Done,
	}
	a.hub = newLiveHub(cfg.LiveInterval, a.liveFrame, cfg.Logger)
	return a
}

// defaultLocation is Asia/Shanghai. Without the system's time zone database it is the fixed
// UTC+8 offset, which is the same zone: China has kept no daylight saving time since 1991.
func defaultLocation() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}

// today is the default range: the current calendar day in the configured zone.
func (a *liveAPI) today() timeRange {
	now := a.now().In(a.q.loc)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, a.q.loc)
	return timeRange{from: from, to: time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, a.q.loc)}
}

// parseRange reads from and to (RFC 3339, or a date meaning its midnight in the configured zone).
// Either may be omitted: both absent is today; from alone runs to the end of from's day; to
// alone starts at the beginning of the day before to. The range is then widened to whole
// minutes, the rollup's grain, so that the raw-event figures (buyers, viewers) and the rollup
// figures (GMV, orders) count the same events.
func (a *liveAPI) parseRange(r *http.Request) (timeRange, error) {
	qs := r.URL.Query()
	fromS, toS := qs.Get("from"), qs.Get("to")
	if fromS == "" && toS == "" {
		return a.today(), nil
	}
	var tr timeRange
	var err error
	if fromS != "" {
		if tr.from, err = a.parseTime(fromS); err != nil {
			return tr, fmt.Errorf("bad from: %w", err)
		}
	}
	if toS != "" {
		if tr.to, err = a.parseTime(toS); err != nil {
			return tr, fmt.Errorf("bad to: %w", err)
		}
	}
	day := func(t time.Time, offset int) time.Time {
		t = t.In(a.q.loc)
		return time.Date(t.Year(), t.Month(), t.Day()+offset, 0, 0, 0, 0, a.q.loc)
	}
	switch {
	case fromS == "":
		tr.from = day(tr.to.Add(-time.Millisecond), 0)
	case toS == "":
		tr.to = day(tr.from, 1)
	}
	tr.from = tr.from.Truncate(time.Minute)
	if up := tr.to.Truncate(time.Minute); up.Before(tr.to) {
		tr.to = up.Add(time.Minute)
	}
	if !tr.from.Before(tr.to) {
		return tr, errors.New("bad range: from must be before to")
	}
	return tr, nil
}

// The range DateTime64(3) can hold, with room for the day arithmetic above.
var (
	minTime = time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func (a *liveAPI) parseTime(s string) (time.Time, error) {
	var t time.Time
	var err error
	if len(s) == len("2006-01-02") {
		t, err = time.ParseInLocation("2006-01-02", s, a.q.loc)
	} else {
		// An unencoded '+' in a query string arrives as a space: "…T10:00:00 08:00".
		if i := len(s) - len("+08:00"); i > 0 && s[i] == ' ' {
			s = s[:i] + "+" + s[i+1:]
		}
		t, err = time.Parse(time.RFC3339, s)
	}
	if err != nil {
		return t, fmt.Errorf("%q is not an RFC 3339 time (2006-01-02T15:04:05+08:00) or a date (2006-01-02)", s)
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return t, fmt.Errorf("%q is out of range (1970-01-02 to 2199-12-31)", s)
	}
	return t, nil
}

// maxIDBytes bounds a stream or KOL id: real ids are short, and a huge one is not worth a query.
const maxIDBytes = 1024

func (a *liveAPI) serveLive(w http.ResponseWriter, r *http.Request) {
	tr, err := a.parseRange(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.queryTimeout)
	defer cancel()
	rep, err := a.q.live(ctx, tr, a.topN)
	if err != nil {
		a.storeFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (a *liveAPI) serveStreamDetail(w http.ResponseWriter, r *http.Request) {
	a.serveDetail(w, r, "stream", func(ctx context.Context, tr timeRange, id string) (any, error) {
		d, err := a.q.stream(ctx, tr, id)
		if d == nil {
			return nil, err // a nil *StreamDetail in an any would not be nil
		}
		return d, err
	})
}

func (a *liveAPI) serveKOLDetail(w http.ResponseWriter, r *http.Request) {
	a.serveDetail(w, r, "KOL", func(ctx context.Context, tr timeRange, id string) (any, error) {
		d, err := a.q.kol(ctx, tr, id)
		if d == nil {
			return nil, err
		}
		return d, err
	})
}

func (a *liveAPI) serveDetail(w http.ResponseWriter, r *http.Request, what string,
	get func(context.Context, timeRange, string) (any, error)) {
	id := r.PathValue("id")
	if len(id) > maxIDBytes {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad id: longer than %d bytes", maxIDBytes))
		return
	}
	tr, err := a.parseRange(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.queryTimeout)
	defer cancel()
	d, err := get(ctx, tr, id)
	switch {
	case err != nil:
		a.storeFailed(w, r, err)
	case d == nil:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no data for %s %q from %s to %s",
			what, id, a.q.formatTime(tr.from), a.q.formatTime(tr.to)))
	default:
		writeJSON(w, http.StatusOK, d)
	}
}

// storeFailed answers 503: the request was fine, the store could not answer it. The store's
// message (which may quote the SQL) goes to the log, not to the client.
func (a *liveAPI) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() == nil {
		a.log.Warn("live figures query failed", "path", r.URL.Path, "err", err)
	}
	writeError(w, http.StatusServiceUnavailable, "store unavailable: the figures could not be computed")
}

type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // the response types always marshal; this is a programming error
		code, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode the response"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store") // live figures: never serve a cached copy
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
