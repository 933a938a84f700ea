package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// flagsAPI serves the detectors' flags: history from anomaly_flags, live ones from the hub.
type flagsAPI struct{ cfg Config }

// serveFlags answers GET /api/flags?since=&kind=&stream_id=&state=&limit=&replay= with the latest
// emission of each flag detected since `since` (RFC 3339; default 24 h ago), newest first: the
// live flags, or with replay=ID those of one `livepulse replay` run.
func (f *flagsAPI) serveFlags(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since := f.now().Add(-24 * time.Hour)
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad since: "+err.Error())
			return
		}
		since = t
	}
	limit := 500
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10_000 {
			writeError(w, http.StatusBadRequest, "bad limit: want 1..10000")
			return
		}
		limit = n
	}
	where := []string{fmt.Sprintf("detected_at >= fromUnixTimestamp64Milli(%d, 'UTC')", since.UnixMilli())}
	where = append(where, "replay_id = "+sqlString(q.Get("replay")))
	for _, col := range []string{"kind", "stream_id", "kol_id", "state"} {
		if v := q.Get(col); v != "" {
			where = append(where, col+" = "+sqlString(v))
		}
	}
	sql := `SELECT flag_id, kind, stream_id, kol_id, brand_id, platform, severity, score,
  toUnixTimestamp64Milli(window_start) AS window_start_ms, toUnixTimestamp64Milli(window_end) AS window_end_ms,
  toUnixTimestamp64Milli(detected_at) AS detected_at_ms, state, evidence, replayed, replay_id
FROM anomaly_flags FINAL WHERE ` + strings.Join(where, " AND ") + `
ORDER BY detected_at_ms DESC, flag_id LIMIT ` + strconv.Itoa(limit) + `
SETTINGS output_format_json_quote_64bit_integers = 0`
	ctx, cancel := context.WithTimeout(r.Context(), f.cfg.QueryTimeout)
	defer cancel()
	out, err := f.cfg.Store.Backend().Query(ctx, sql, "JSONEachRow")
	if err != nil {
		f.cfg.Logger.Warn("cannot read flags", "err", err)
		writeError(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	flags := []map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<16), 16<<20)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			writeError(w, http.StatusInternalServerError, "cannot parse stored flag")
			return
		}
		var evidence any
		if s, ok := row["evidence"].(string); ok && json.Unmarshal([]byte(s), &evidence) == nil {
			row["evidence"] = evidence
		}
		// Aliases must not shadow the columns the WHERE clause compares, hence the _ms names.
		for _, k := range []string{"window_start", "window_end", "detected_at"} {
			if ms, ok := row[k+"_ms"].(float64); ok {
				row[k] = time.UnixMilli(int64(ms)).In(f.cfg.Location).Format(time.RFC3339Nano)
			}
			delete(row, k+"_ms")
		}
		row["replayed"] = row["replayed"] == float64(1)
		flags = append(flags, row)
	}
	writeJSON(w, http.StatusOK, map[string]any{"since": since.In(f.cfg.Location).Format(time.RFC3339), "flags": flags})
}

// serveFlagStream is GET /api/flags/stream: Server-Sent Events, one `flag` event per emission
// (raised, updated, closed) as the pipeline publishes it.
func (f *flagsAPI) serveFlagStream(w http.ResponseWriter, r *http.Request) {
	if f.cfg.Flags == nil {
		writeError(w, http.StatusNotFound, "this instance runs no detectors")
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	ch, unsubscribe := f.cfg.Flags.Subscribe()
	defer unsubscribe()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fmt.Fprint(w, "retry: 2000\n\n")
	flusher.Flush()
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-f.cfg.Done:
			return
		case <-heartbeat.C:
			fmt.Fprint(w, ": heartbeat\n\n")
		case body := <-ch:
			fmt.Fprintf(w, "event: flag\ndata: %s\n\n", body)
		}
		flusher.Flush()
	}
}

func (f *flagsAPI) now() time.Time {
	if f.cfg.Now != nil {
		return f.cfg.Now()
	}
	return time.Now()
}
