// Package chdb embeds chDB (ClickHouse as a library) through libchdb.so,
// loaded at run time with dlopen: building needs neither the library nor its
// header, only cgo and libdl.
//
// The engine is process-wide: libchdb is loaded once per process and serves
// one storage path at a time. Several Engines may be open at once only if
// they share the same DataDir; an Engine with another DataDir can be opened
// after all of them are closed.
package chdb

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config configures an Engine. The zero value is an in-memory engine with 4
// connections, loading the library found by FindLibrary("").
type Config struct {
	// LibraryPath is the path to libchdb.so; "" = FindLibrary("").
	// The first Open in a process loads it; later Opens must name the same file.
	LibraryPath string
	// DataDir keeps the databases on disk in this directory (created if
	// missing); "" or ":memory:" = in memory, lost when the last Engine closes.
	// Only one process at a time can use a DataDir (the engine locks it).
	DataDir string
	// Conns is the number of pooled connections, i.e. how many statements
	// can run at once (the engine runs one statement per connection); default 4.
	Conns int
	// Settings are ClickHouse query-level settings applied to every
	// connection, passed to chdb_connect as --name=value; nil = none.
	// An invalid value for a known setting fails Open.
	Settings map[string]string
	// Logger receives load/connect/close events at debug level, and a
	// warning if the engine replaced the Go runtime's signal handlers; nil = silent.
	Logger *slog.Logger
}

// Engine is an open chDB instance with a pool of connections. It is safe for
// concurrent use: each call takes one connection from the pool for its
// duration and waits while none is free.
type Engine struct {
	pool    chan cconn
	n       int
	done    chan struct{} // closed by Close: waiters give up with ErrClosed
	once    sync.Once
	version string
	log     *slog.Logger
}

// proc is the process-wide state of the engine.
var proc struct {
	mu      sync.Mutex
	libPath string // library loaded, "" = none yet
	version string
	open    int    // Engines open
	dataDir string // their DataDir ("" = memory)
}

// Open loads libchdb (once per process) and connects cfg.Conns connections.
// It fails if another open Engine uses a different DataDir.
func Open(cfg Config) (*Engine, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := cfg.Conns
	if n <= 0 {
		n = 4
	}
	lib := cfg.LibraryPath
	if lib == "" {
		var err error
		if lib, err = FindLibrary(""); err != nil {
			return nil, err
		}
	}
	if abs, err := filepath.Abs(lib); err == nil {
		lib = abs
	}
	dir := cfg.DataDir
	if dir == ":memory:" {
		dir = ""
	}
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("cannot resolve data dir %s: %w", dir, err)
		}
		dir = abs
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create data dir: %w", err)
		}
	}
	argv, err := connectArgs(dir, cfg.Settings)
	if err != nil {
		return nil, err
	}

	proc.mu.Lock()
	defer proc.mu.Unlock()
	if proc.libPath == "" {
		start := time.Now()
		if err := dlopenLibrary(lib); err != nil {
			return nil, fmt.Errorf("cannot load %s: %w", lib, err)
		}
		proc.libPath, proc.version = lib, libVersion()
		log.Debug("chdb: library loaded", "path", lib, "version", proc.version, "took", time.Since(start))
	} else if proc.libPath != lib {
		return nil, fmt.Errorf("cannot load %s: %s is already loaded in this process", lib, proc.libPath)
	}
	if proc.open > 0 && proc.dataDir != dir {
		return nil, fmt.Errorf("cannot open data dir %q: this process already has the engine open on %q (one storage path per process)",
			orMemory(dir), orMemory(proc.dataDir))
	}

	e := &Engine{pool: make(chan cconn, n), done: make(chan struct{}), version: proc.version, log: log}
	start := time.Now()
	for range n {
		c, restored, err := connect(argv)
		if restored > 0 {
			log.Warn("chdb: engine replaced signal handlers; Go's were restored", "signals", restored)
		}
		if err != nil {
			e.closeConns()
			return nil, fmt.Errorf("cannot connect to %s: %w", orMemory(dir), err)
		}
		e.pool <- c
		e.n++
	}
	proc.open++
	proc.dataDir = dir
	log.Debug("chdb: engine open", "data_dir", orMemory(dir), "conns", n, "took", time.Since(start))
	return e, nil
}

func connectArgs(dir string, settings map[string]string) ([]string, error) {
	argv := []string{"clickhouse"}
	if dir != "" {
		argv = append(argv, "--path="+dir)
	}
	names := make([]string, 0, len(settings))
	for k := range settings {
		if k == "" || strings.HasPrefix(k, "-") || strings.ContainsAny(k, "= ") || k == "path" {
			return nil, fmt.Errorf("cannot use setting %q: not a setting name (use DataDir for the path)", k)
		}
		names = append(names, k)
	}
	sort.Strings(names) // deterministic argv
	for _, k := range names {
		argv = append(argv, "--"+k+"="+settings[k])
	}
	return argv, nil
}

func orMemory(dir string) string {
	if dir == "" {
		return ":memory:"
	}
	return dir
}

// Version returns the library's version as chdb_version reports it (e.g.
// "26.7.3"; SQL version() reports the ClickHouse build inside, e.g. "26.7.2.1").
func (e *Engine) Version() string { return e.version }

// acquire takes a connection, honouring ctx and Close while it waits.
func (e *Engine) acquire(ctx context.Context) (cconn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case <-e.done:
		return nil, ErrClosed
	default:
	}
	select {
	case c := <-e.pool:
		select {
		case <-e.done: // lost the race with Close: hand it back for Close to drain
			e.pool <- c
			return nil, ErrClosed
		default:
			return c, nil
		}
	case <-e.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release never blocks: the pool has room for every connection.
func (e *Engine) release(c cconn) { e.pool <- c }

// Query runs one statement and returns its whole output in format
// ("" = TabSeparated), e.g. "JSONEachRow", "CSVWithNames", "RowBinary", "Native".
// ctx is honoured until the statement starts; the C call itself cannot be
// interrupted, so a running statement finishes before Query returns.
func (e *Engine) Query(ctx context.Context, sql, format string) ([]byte, error) {
	out, _, err := e.QueryStats(ctx, sql, format)
	return out, err
}

// QueryStats is Query that also returns the engine's counters for the statement.
func (e *Engine) QueryStats(ctx context.Context, sql, format string) ([]byte, Stats, error) {
	if format == "" {
		format = "TabSeparated"
	}
	c, err := e.acquire(ctx)
	if err != nil {
		return nil, Stats{}, err
	}
	defer e.release(c)
	return query(c, sql, format)
}

// Stats are the counters the engine reports for one statement.
type Stats struct {
	Elapsed          time.Duration
	RowsRead         uint64 // rows in the result set
	BytesRead        uint64 // bytes of the result set in the engine's binary form
	StorageRowsRead  uint64 // rows read from storage
	StorageBytesRead uint64 // bytes read from storage
	RowsWritten      uint64 // rows written, including cascaded materialized views
	BytesWritten     uint64
}

// insertChunk bounds each chdb_stream_append; a variable so tests can split
// rows across chunks.
var insertChunk = 1 << 20

// Insert streams data, encoded in format (e.g. "RowBinary", "Native",
// "JSONEachRow"; "" = TabSeparated), into insert, a statement without FORMAT
// clause or data such as "INSERT INTO t (a, b)". The data may come in several
// pieces, sent one after the other as if concatenated. It goes through the
// engine's insert stream in chunks of at most 1 MiB: binary data must never
// be inlined into query text. ctx is also checked between chunks; a cancelled
// insert is aborted, but rows the engine already committed stay (ClickHouse
// has no rollback).
func (e *Engine) Insert(ctx context.Context, insert, format string, data ...[]byte) error {
	_, err := e.InsertStats(ctx, insert, format, data...)
	return err
}

// Class says what a statement does to state that outlives it
// (chdb_query_class). Values ascend by restriction: a batch takes the maximum.
type Class uint32

const (
	ReadOnly       Class = iota // SELECT, SHOW, DESCRIBE, EXPLAIN, EXISTS, CHECK
	Mutating                    // INSERT, CREATE, ALTER, DROP, ...: changes a database; BACKUP DATABASE carries it
	MutatingGlobal              // UDFs, named collections, users, writes to system: persistent but outside every database
	Control                     // USE, SET, SYSTEM, ATTACH, BACKUP, KILL, INTO OUTFILE, INSERT INTO FUNCTION, ...
	Unknown                     // did not parse or not classified: treat as a refusal
)

func (c Class) String() string {
	switch c {
	case ReadOnly:
		return "ReadOnly"
	case Mutating:
		return "Mutating"
	case MutatingGlobal:
		return "MutatingGlobal"
	case Control:
		return "Control"
	case Unknown:
		return "Unknown"
	}
	return fmt.Sprintf("Class(%d)", uint32(c))
}

// Flag is a chdb_query_analysis_flag.
type Flag uint32

const (
	HasSecrets               Flag = 1 << 0 // the text carries a credential
	WritesOnlyTargetDatabase Flag = 1 << 1 // never set by Classify: it names no target database
	ChangesDatabaseLifecycle Flag = 1 << 2 // creates, drops or renames a database
)

// Analysis is what the engine's parser says about a text.
type Analysis struct {
	Class      Class
	Flags      Flag
	Statements int // executable statements; 0 for empty or unparsable text
}

// Classify parses sql with the engine's own parser (chdb_classify_query_n)
// without running it. Text that does not parse is Unknown with no error.
func (e *Engine) Classify(sql string) (Analysis, error) {
	c, err := e.acquire(context.Background())
	if err != nil {
		return Analysis{}, err
	}
	defer e.release(c)
	a, err := classify(c, sql)
	if err != nil {
		return Analysis{}, fmt.Errorf("cannot classify query: %w", err)
	}
	return a, nil
}

// Close waits for running calls to finish, then closes every connection.
// Calls waiting for a connection fail with ErrClosed. Closing twice is a no-op.
func (e *Engine) Close() error {
	e.once.Do(func() {
		close(e.done)
		start := time.Now()
		e.closeConns()
		proc.mu.Lock()
		proc.open--
		proc.mu.Unlock()
		e.log.Debug("chdb: engine closed", "took", time.Since(start))
	})
	return nil
}

// closeConns takes back every connection, waiting for those in use.
func (e *Engine) closeConns() {
	for range e.n {
		closeConn(<-e.pool)
	}
}
