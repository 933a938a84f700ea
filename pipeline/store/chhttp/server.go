// Package chhttp serves the embedded ClickHouse over ClickHouse's own HTTP interface, so that
// several livepulse processes (and clickhouse-go, Grafana's ClickHouse datasource, curl) can share
// one data directory: the engine admits one process per directory, and this process is it.
//
// What it speaks (the subset clickhouse-go/v2 with Protocol HTTP and Grafana use):
//   - GET or POST /, the query in the `query` parameter and/or the body (for an INSERT with a
//     FORMAT clause the body is the data, streamed through the engine's insert stream);
//   - GET /ping and GET / without a query: "Ok.\n";
//   - settings as URL parameters (applied as a SETTINGS clause), `default_format`, `database`
//     (only "default"), `query_id`, `param_*` is refused;
//   - `client_protocol_version` for Native output (the engine writes revision-0 blocks; they are
//     re-encoded at the client's revision);
//   - request bodies with Content-Encoding gzip or deflate; responses are never compressed (a
//     client must not ask for ClickHouse's block compression, `compress=1`/`decompress=1`:
//     refused with a clear error);
//   - X-ClickHouse-Format, X-ClickHouse-Summary, X-ClickHouse-Query-Id, X-ClickHouse-Timezone,
//     and errors as "Code: N. DB::Exception: …" with X-ClickHouse-Exception-Code and the HTTP
//     status ClickHouse uses for that code.
//
// Not supported: sessions (`session_id` is ignored: every request stands alone), external tables,
// query parameters, progress headers.
package chhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/store/chdb"
)

// Config configures Handler.
type Config struct {
	// Store is the embedded backend served; required.
	Store *store.Embedded
	// Users are the accepted credentials by user name. Empty: no authentication, every request
	// acts as a writer (only sensible on loopback; `livepulse store` refuses otherwise).
	Users map[string]User
	// ReadOnlyQuery, if set, runs the queries of read-only users and of GET requests, bounded
	// (store.Store.QueryReadOnly: ClickHouse's readonly mode with time, row and byte limits), so
	// that users facing the store get the same rules as at livepulse's /api/query. The URL's
	// settings are not applied to them (readonly mode refuses any). Nil: they run on the engine
	// like a writer's, after the read-only check.
	ReadOnlyQuery func(ctx context.Context, sql, format string) ([]byte, error)
	// MaxBodyBytes bounds a request body; default 1 GiB.
	MaxBodyBytes int64
	// Logger receives one debug line per request and errors; nil means silent.
	Logger *slog.Logger
}

// User is one credential.
type User struct {
	Password string
	// ReadOnly users may only run single read-only statements (store.CheckReadOnly), as
	// dashboards and Grafana need; writers (livepulse run) may run anything.
	ReadOnly bool
}

// Handler returns the HTTP handler.
func Handler(cfg Config) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 30
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg, version: cfg.Store.Engine().Version()}
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Ok.\n") })
	mux.HandleFunc("/", s.serveQuery)
	return mux
}

type server struct {
	cfg     Config
	version string
}

func (s *server) serveQuery(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		s.fail(w, &Exception{Code: codeNotImplemented, Name: "NOT_IMPLEMENTED", Message: "There is no handle " + r.URL.Path + ": use / or /ping", Status: http.StatusNotFound})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		s.fail(w, &Exception{Code: codeNotImplemented, Name: "NOT_IMPLEMENTED", Message: "only GET, HEAD and POST are supported", Status: http.StatusMethodNotAllowed})
		return
	}
	user, err := s.authenticate(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	req, err := parseRequest(r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.fail(w, err)
		return
	}
	if req.text == "" && len(req.data) == 0 {
		io.WriteString(w, "Ok.\n")
		return
	}
	// GET is read-only in ClickHouse too (readonly=2), whoever asks.
	bounded := user.ReadOnly || r.Method != http.MethodPost
	if bounded {
		if req.insert != nil {
			s.fail(w, readOnlyException("INSERT through a read-only user or a GET request"))
			return
		}
		if err := store.CheckReadOnly(s.cfg.Store, req.text); err != nil {
			s.fail(w, readOnlyException(err.Error()))
			return
		}
	}
	start := time.Now()
	queryID := r.URL.Query().Get("query_id")
	if queryID == "" {
		queryID = strconv.FormatInt(start.UnixNano(), 36)
	}
	ctx := r.Context()
	if req.insert != nil {
		st, err := s.cfg.Store.Engine().InsertStats(ctx, req.insert.statement, req.insert.format, req.data)
		if err != nil {
			s.fail(w, err)
			return
		}
		s.headers(w, queryID, "", st, time.Since(start))
		s.cfg.Logger.Debug("insert", "statement", req.insert.statement, "format", req.insert.format, "rows", st.RowsWritten)
		return
	}
	var out []byte
	var st chdb.Stats
	if bounded && s.cfg.ReadOnlyQuery != nil {
		out, err = s.cfg.ReadOnlyQuery(ctx, req.bare, req.format)
		if errors.Is(err, store.ErrReadOnly) && asException(err).Code != codeReadonly {
			err = readOnlyException(err.Error())
		}
	} else {
		out, st, err = s.cfg.Store.Engine().QueryStats(ctx, req.text, req.format)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	if isNative(req.effectiveFormat) && req.clientRevision > 0 {
		if out, err = reencodeNative(out, req.clientRevision); err != nil {
			s.fail(w, &Exception{Code: codeLogicalError, Name: "LOGICAL_ERROR", Message: "cannot re-encode Native output: " + err.Error()})
			return
		}
	}
	s.headers(w, queryID, req.effectiveFormat, st, time.Since(start))
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	if r.Method != http.MethodHead {
		w.Write(out)
	}
	s.cfg.Logger.Debug("query", "sql", req.text, "format", req.effectiveFormat, "bytes", len(out))
}

// headers sets the response headers ClickHouse sends with a successful answer.
func (s *server) headers(w http.ResponseWriter, queryID, format string, st chdb.Stats, elapsed time.Duration) {
	h := w.Header()
	h.Set("X-ClickHouse-Query-Id", queryID)
	h.Set("X-ClickHouse-Timezone", "UTC")
	h.Set("X-ClickHouse-Server-Display-Name", "livepulse-store")
	if format != "" {
		h.Set("X-ClickHouse-Format", format)
		h.Set("Content-Type", contentType(format))
	}
	summary, _ := json.Marshal(map[string]string{
		"read_rows":     strconv.FormatUint(st.StorageRowsRead, 10),
		"read_bytes":    strconv.FormatUint(st.StorageBytesRead, 10),
		"written_rows":  strconv.FormatUint(st.RowsWritten, 10),
		"written_bytes": strconv.FormatUint(st.BytesWritten, 10),
		"result_rows":   strconv.FormatUint(st.RowsRead, 10),
		"result_bytes":  strconv.FormatUint(st.BytesRead, 10),
		"elapsed_ns":    strconv.FormatInt(elapsed.Nanoseconds(), 10),
	})
	h.Set("X-ClickHouse-Summary", string(summary))
}

func (s *server) fail(w http.ResponseWriter, err error) {
	ex := asException(err)
	if ex.Code != codeReadonly && ex.Code != codeAuthenticationFailed {
		s.cfg.Logger.Debug("request failed", "code", ex.Code, "err", ex.Message)
	}
	h := w.Header()
	h.Set("X-ClickHouse-Exception-Code", strconv.Itoa(ex.Code))
	if ex.Name != "" {
		h.Set("X-ClickHouse-Exception-Name", ex.Name)
	}
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	if ex.Code == codeAuthenticationFailed || ex.Code == codeRequiredPassword {
		h.Set("WWW-Authenticate", `Basic realm="ClickHouse"`)
	}
	status := ex.Status
	if status == 0 {
		status = httpStatus(ex.Code)
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, "%s (version %s)\n", ex.Text(), s.version)
}
