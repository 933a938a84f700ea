// Package api is livepulse's HTTP surface: health, Prometheus metrics and read-only SQL now; the
// live metrics, flags and boards build on it.
package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/livepulse/livepulse/pipeline/store"
)

// Config configures the HTTP server. The zero value serves nothing useful: set Store.
type Config struct {
	// Store answers /api/query and /readyz.
	Store *store.Store
	// Ready reports whether the pipeline is consuming (for /readyz); nil means always.
	Ready func() bool
	// Gatherer serves /metrics. Default prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// MaxQueryBytes bounds a POST /api/query body. Default 1 MiB.
	MaxQueryBytes int64
	// QueryTimeout bounds one /api/query. Default 30 s.
	QueryTimeout time.Duration
	// Logger; nil means silent.
	Logger *slog.Logger
	// Location is the time zone of "today", the default range of the live figures. Default
	// Asia/Shanghai.
	Location *time.Location
	// TopN bounds top_streams, top_kols and brands in /api/live. Default 10.
	TopN int
	// LiveInterval is how often /api/live/stream recomputes and pushes the figures. Default 1 s.
	LiveInterval time.Duration
	// Now is the clock "today" is read from; nil means time.Now.
	Now func() time.Time
	// Flags, if set, feeds /api/flags/stream (the pipeline's flag publisher hub).
	Flags FlagSubscriber
	// Board, if set, serves the built-in web board at / (dashboards/web).
	Board http.Handler
	// Done, once closed, ends the open /api/live/stream responses. http.Server.Shutdown does not
	// cancel running handlers and would wait for those streams until its context expires.
	Done <-chan struct{}
}

// Handler returns the HTTP handler.
func Handler(cfg Config) http.Handler {
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.DefaultGatherer
	}
	if cfg.MaxQueryBytes <= 0 {
		cfg.MaxQueryBytes = 1 << 20
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = defaultLocation()
	}
	s := &server{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST /api/query", s.query)
	live := newLiveAPI(cfg) // one per handler: it holds the /api/live/stream poller
	mux.HandleFunc("GET /api/live", live.serveLive)
	mux.HandleFunc("GET /api/live/stream", live.serveStream)
	mux.HandleFunc("GET /api/streams/{id}", live.serveStreamDetail)
	mux.HandleFunc("GET /api/kols/{id}", live.serveKOLDetail)
	mux.HandleFunc("GET /api/live/minutes", live.serveMinutes)
	mux.HandleFunc("GET /api/audit", live.serveAudit)
	if cfg.Board != nil {
		mux.Handle("GET /", cfg.Board)
	}
	fl := &flagsAPI{cfg: cfg}
	mux.HandleFunc("GET /api/flags", fl.serveFlags)
	mux.HandleFunc("GET /api/flags/stream", fl.serveFlagStream)
	mux.HandleFunc("POST /api/replay", s.serveReplay)
	return mux
}

type server struct{ cfg Config }

// FlagSubscriber hands out live flag emissions (pipeline/flags.Hub).
type FlagSubscriber interface {
	Subscribe() (<-chan []byte, func())
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil && !s.cfg.Ready() {
		http.Error(w, "consumer has not joined its group yet", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if _, err := s.cfg.Store.Backend().Query(ctx, "SELECT 1", "TabSeparated"); err != nil {
		http.Error(w, "store unreachable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

// query answers like ClickHouse's HTTP interface: the body is the SQL, the output is
// TabSeparated unless the statement has a FORMAT clause or default_format is given.
func (s *server) query(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxQueryBytes))
	if err != nil {
		http.Error(w, "cannot read query: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	sql := strings.TrimSpace(string(body))
	if sql == "" {
		sql = r.URL.Query().Get("query")
	}
	format := r.URL.Query().Get("default_format")
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.QueryTimeout)
	defer cancel()
	out, err := s.cfg.Store.QueryReadOnly(ctx, sql, format)
	if err != nil {
		code := http.StatusBadRequest
		if !errors.Is(err, store.ErrReadOnly) {
			s.cfg.Logger.Info("query failed", "err", err)
		} else {
			code = http.StatusForbidden
		}
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(out)
}
