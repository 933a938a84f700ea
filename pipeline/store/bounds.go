package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/livepulse/livepulse/pipeline/store/chdb"
)

// ErrQueryLimit is returned (wrapped, with ClickHouse's message) when a user's query exceeds its
// time, row or byte limit.
var ErrQueryLimit = errors.New("query exceeds its limit")

// ClickHouse error codes a bounded query maps to ErrReadOnly or ErrQueryLimit.
const (
	codeTimeoutExceeded    = 159
	codeReadonly           = 164
	codeTooManyRowsOrBytes = 396
)

// QueryLimits bound one read-only query from a user (POST /api/query, `livepulse query`). The
// zero value means the defaults; ClickHouse enforces them (readonly=1, so a query's own SETTINGS
// clause cannot lift them), and the query fails rather than returning a truncated result.
type QueryLimits struct {
	// Timeout is ClickHouse's max_execution_time (whole seconds, at least 1). Default 30 s.
	Timeout time.Duration
	// MaxRows is max_result_rows with result_overflow_mode=throw. Default 100,000.
	MaxRows int
	// MaxBytes is max_result_bytes (uncompressed, in memory) with result_overflow_mode=throw.
	// Default 64 MiB.
	MaxBytes int
	// Conns is how many user queries the embedded engine runs at once (its own readonly
	// connection pool, separate from ingestion's). Default 2.
	Conns int
}

func (l QueryLimits) withDefaults() QueryLimits {
	if l.Timeout <= 0 {
		l.Timeout = 30 * time.Second
	}
	if l.MaxRows <= 0 {
		l.MaxRows = 100_000
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 64 << 20
	}
	if l.Conns <= 0 {
		l.Conns = 2
	}
	return l
}

func (l QueryLimits) seconds() int { return max(1, int(l.Timeout.Round(time.Second)/time.Second)) }

// settings are the ClickHouse settings that enforce l. readonly=1 also forbids changing any
// setting from the query, so the limits hold.
func (l QueryLimits) settings() map[string]string {
	return map[string]string{
		"readonly":              "1",
		"max_execution_time":    strconv.Itoa(l.seconds()),
		"timeout_overflow_mode": "throw",
		"max_result_rows":       strconv.Itoa(l.MaxRows),
		"max_result_bytes":      strconv.Itoa(l.MaxBytes),
		"result_overflow_mode":  "throw",
	}
}

// userQueries runs users' read-only SQL under QueryLimits.
type userQueries struct {
	mu     sync.Mutex
	limits QueryLimits
	engine *chdb.Engine // the embedded backend's readonly pool, opened on first use
}

// SetQueryLimits replaces the limits of QueryReadOnly (zero fields: the defaults). Call it
// before serving queries.
func (s *Store) SetQueryLimits(l QueryLimits) error {
	s.users.mu.Lock()
	defer s.users.mu.Unlock()
	s.users.limits = l.withDefaults()
	if s.users.engine != nil {
		err := s.users.engine.Close()
		s.users.engine = nil
		if err != nil {
			return fmt.Errorf("cannot close the query engine: %w", err)
		}
	}
	return nil
}

// QueryLimits returns the limits QueryReadOnly applies.
func (s *Store) QueryLimits() QueryLimits {
	s.users.mu.Lock()
	defer s.users.mu.Unlock()
	return s.users.limits.withDefaults()
}

// queryBounded runs sql under the limits: on the embedded engine through a readonly pool whose
// connections carry the limits as settings, on a server with the limits as query settings.
func (s *Store) queryBounded(parent context.Context, sql, format string) ([]byte, error) {
	l := s.QueryLimits()
	// ClickHouse's timer is the guard; cancelling is a backstop for a wedged connection. The
	// context carries no deadline: clickhouse-go would turn one into its own max_execution_time,
	// replacing the limit.
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	defer cancel()
	defer context.AfterFunc(parent, cancel)()
	defer time.AfterFunc(l.Timeout+5*time.Second, cancel).Stop()
	switch b := s.b.(type) {
	case *Embedded:
		e, err := s.users.embedded(l)
		if err != nil {
			return nil, err
		}
		if format == "" {
			format = "TabSeparated"
		}
		out, err := e.Query(ctx, sql, format)
		return out, classifyQueryError(err)
	case *Server:
		set := b.limitSettings(l)
		if b.http != nil { // over HTTP the settings are URL parameters, not a context's
			out, err := b.http.query(ctx, sql, format, set)
			return out, classifyQueryError(err)
		}
		out, err := b.Query(clickhouse.Context(ctx, clickhouse.WithSettings(set)), sql, format)
		return out, classifyQueryError(err)
	default:
		return nil, fmt.Errorf("%w: backend %s cannot bound queries", ErrReadOnly, s.b.Name())
	}
}

func (u *userQueries) embedded(l QueryLimits) (*chdb.Engine, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.engine == nil {
		e, err := chdb.Fork(l.Conns, l.settings())
		if err != nil {
			return nil, fmt.Errorf("cannot open the read-only query engine: %w", err)
		}
		u.engine = e
	}
	return u.engine, nil
}

func (u *userQueries) close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.engine == nil {
		return nil
	}
	err := u.engine.Close()
	u.engine = nil
	return err
}

// limitSettings are l's settings for clickhouse-go. Servers before revision 54429 (ClickHouse
// 19.x) take only integer settings on the wire; result_overflow_mode is then left at its
// default, throw.
func (s *Server) limitSettings(l QueryLimits) clickhouse.Settings {
	set := clickhouse.Settings{
		"readonly":           1,
		"max_execution_time": l.seconds(),
		"max_result_rows":    l.MaxRows,
		"max_result_bytes":   l.MaxBytes,
	}
	if v, err := s.conn.ServerVersion(); err == nil && v.Revision > 54429 {
		set["result_overflow_mode"] = clickhouse.CustomSetting{Value: "throw"}
		set["timeout_overflow_mode"] = clickhouse.CustomSetting{Value: "throw"}
	}
	return set
}

// classifyQueryError marks ClickHouse's refusals in readonly mode as ErrReadOnly and exceeded
// limits as ErrQueryLimit.
func classifyQueryError(err error) error {
	if err == nil {
		return nil
	}
	code := 0
	var ce *chdb.Error
	var pe *proto.Exception
	var se *ServerError
	switch {
	case errors.As(err, &ce):
		code = ce.Code
	case errors.As(err, &pe):
		code = int(pe.Code)
	case errors.As(err, &se):
		code, _ = strconv.Atoi(se.Code)
	}
	switch code {
	case codeReadonly:
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	case codeTimeoutExceeded, codeTooManyRowsOrBytes:
		return fmt.Errorf("%w: %w", ErrQueryLimit, err)
	}
	return err
}
