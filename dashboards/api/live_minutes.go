package api

import (
	"context"
	"net/http"
)

// MinuteSeries is the /api/live/minutes response: the whole platform's minute series.
type MinuteSeries struct {
	From    string        `json:"from"`
	To      string        `json:"to"`
	Minutes []MinutePoint `json:"minutes"`
}

// serveMinutes is GET /api/live/minutes?from=&to=: every stream's minutes summed, for the
// board's GMV-per-minute chart (default range: today).
func (a *liveAPI) serveMinutes(w http.ResponseWriter, r *http.Request) {
	tr, err := a.parseRange(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.queryTimeout)
	defer cancel()
	mins, err := a.q.minutes(ctx, tr, everything)
	if err != nil {
		a.storeFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, MinuteSeries{From: a.q.formatTime(tr.from), To: a.q.formatTime(tr.to), Minutes: nonNil(mins)})
}
