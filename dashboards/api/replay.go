package api

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/flags"
	"github.com/livepulse/livepulse/pipeline/replay"
)

// serveReplay is POST /api/replay?from=&to=[&warmup=&id=]: `livepulse replay` run by the process
// that holds the store (the embedded engine admits one per data directory). The body, if any, is
// a detectors YAML config (the thresholds to replay; default: the documented defaults). It
// answers with the run's report once it is done; the flags are at /api/flags?replay=ID.
func (s *server) serveReplay(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var cfg replay.Config
	var err error
	if cfg.From, err = time.Parse(time.RFC3339, q.Get("from")); err != nil {
		writeError(w, http.StatusBadRequest, "bad from (RFC 3339): "+err.Error())
		return
	}
	if cfg.To, err = time.Parse(time.RFC3339, q.Get("to")); err != nil {
		writeError(w, http.StatusBadRequest, "bad to (RFC 3339): "+err.Error())
		return
	}
	if s := q.Get("warmup"); s != "" {
		if cfg.Warmup, err = time.ParseDuration(s); err != nil {
			writeError(w, http.StatusBadRequest, "bad warmup: "+err.Error())
			return
		}
	}
	cfg.ID = q.Get("id")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "cannot read the detectors config: "+err.Error())
		return
	}
	cfg.Detectors = detectors.DefaultConfig()
	if len(body) > 0 {
		if cfg.Detectors, err = detectors.ParseConfig(body); err != nil {
			writeError(w, http.StatusBadRequest, "bad detectors config: "+err.Error())
			return
		}
	}
	cfg.Logger = s.cfg.Logger
	pub := flags.NewPublisher(flags.Config{Logger: s.cfg.Logger}, s.cfg.Store) // store only: no Kafka, no webhooks
	defer pub.Close()
	rep, err := replay.Run(r.Context(), s.cfg.Store, pub, cfg)
	switch {
	case errors.Is(err, replay.ErrRange):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		s.cfg.Logger.Warn("replay failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}
