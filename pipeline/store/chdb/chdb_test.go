package chdb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// childEnv makes the test binary act as a child process (see childMain):
// what must outlive or survive the parent runs there.
const childEnv = "LIVEPULSE_CHDB_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

// libOrSkip finds libchdb.so; without it (or without cgo) the test is
// skipped locally but fails in CI, where the engine must be testable.
func libOrSkip(t testing.TB) string {
	t.Helper()
	lib, err := FindLibrary("")
	if err == nil && !haveCgo {
		err = errors.New("built without cgo")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return lib
}

func openEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if cfg.LibraryPath == "" {
		cfg.LibraryPath = libOrSkip(t)
	}
	e, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

func mustQuery(t testing.TB, e *Engine, sql string) string {
	t.Helper()
	out, err := e.Query(context.Background(), sql, "")
	if err != nil {
		t.Fatalf("Query(%q): %v", sql, err)
	}
	return string(out)
}

// rowBinary appends values in ClickHouse's RowBinary encoding.
type rowBinary []byte

func (b rowBinary) u64(v uint64) rowBinary  { return binary.LittleEndian.AppendUint64(b, v) }
func (b rowBinary) i64(v int64) rowBinary   { return b.u64(uint64(v)) }
func (b rowBinary) f64(v float64) rowBinary { return b.u64(math.Float64bits(v)) }
func (b rowBinary) str(s string) rowBinary {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func idNameRows(n int) []byte {
	var b rowBinary
	for i := 1; i <= n; i++ {
		b = b.u64(uint64(i)).str(fmt.Sprintf("n%04d", i))
	}
	return b
}

func TestQuery(t *testing.T) {
	e := openEngine(t, Config{Conns: 2})
	ts := time.Date(2024, 1, 2, 3, 4, 5, 678e6, time.UTC)

	tests := []struct {
		name   string
		setup  []string
		insert string // INSERT statement for data, if any
		format string // of data
		data   []byte
		query  string
		out    string // output format
		want   string
	}{
		{name: "SELECT 1", query: "SELECT 1", want: "1\n"},
		{name: "output format", query: "SELECT 1 AS x, 'a' AS s", out: "JSONEachRow", want: `{"x":1,"s":"a"}` + "\n"},
		{name: "FORMAT clause wins", query: "SELECT 2 AS x FORMAT CSVWithNames", want: "\"x\"\n2\n"},
		{name: "two statements", query: "SELECT 1; SELECT 2", want: "1\n2\n"},
		{
			name:   "RowBinary round trip",
			setup:  []string{"CREATE TABLE q_rb (id UInt64, name String) ENGINE = MergeTree ORDER BY id"},
			insert: "INSERT INTO q_rb (id, name)", format: "RowBinary", data: idNameRows(1000),
			query: "SELECT count(), sum(id), max(name) FROM q_rb", want: "1000\t500500\tn1000\n",
		},
		{
			name:   "JSONEachRow round trip",
			setup:  []string{"CREATE TABLE q_json (id UInt32, name String) ENGINE = Memory"},
			insert: "INSERT INTO q_json (id, name)", format: "JSONEachRow",
			data:  []byte(`{"id":2,"name":"b"}` + "\n" + `{"id":1,"name":"a"}` + "\n" + `{"id":3,"name":"c"}` + "\n"),
			query: "SELECT count(), groupArray(name) FROM (SELECT name FROM q_json ORDER BY id)", want: "3\t['a','b','c']\n",
		},
		{
			name:   "DateTime64(3)",
			setup:  []string{"CREATE TABLE q_dt (ts DateTime64(3, 'UTC')) ENGINE = Memory"},
			insert: "INSERT INTO q_dt (ts)", format: "RowBinary", data: rowBinary(nil).i64(ts.UnixMilli()),
			query: "SELECT ts, toUnixTimestamp64Milli(ts) FROM q_dt",
			want:  fmt.Sprintf("2024-01-02 03:04:05.678\t%d\n", ts.UnixMilli()),
		},
		{
			name:   "Decimal(18,2)",
			setup:  []string{"CREATE TABLE q_dec (amount Decimal(18, 2)) ENGINE = Memory"},
			insert: "INSERT INTO q_dec (amount)", format: "RowBinary", data: rowBinary(nil).i64(1234).i64(-5).i64(100),
			query: "SELECT amount FROM q_dec ORDER BY amount", want: "-0.05\n1\n12.34\n",
		},
		{
			name:   "LowCardinality(String)",
			setup:  []string{"CREATE TABLE q_lc (tag LowCardinality(String)) ENGINE = Memory"},
			insert: "INSERT INTO q_lc (tag)", format: "RowBinary", data: rowBinary(nil).str("x").str("y").str("x"),
			query: "SELECT tag, toTypeName(tag), count() FROM q_lc GROUP BY tag ORDER BY tag",
			want:  "x\tLowCardinality(String)\t2\ny\tLowCardinality(String)\t1\n",
		},
		{
			name:   "typed columns via JSONEachRow",
			setup:  []string{"CREATE TABLE q_typed (ts DateTime64(3, 'UTC'), amount Decimal(18, 2), tag LowCardinality(String)) ENGINE = Memory"},
			insert: "INSERT INTO q_typed (ts, amount, tag)", format: "JSONEachRow",
			data:  []byte(`{"ts":"2024-01-02 03:04:05.678","amount":"12.34","tag":"x"}` + "\n"),
			query: "SELECT ts, amount, tag FROM q_typed", out: "JSONEachRow",
			want: `{"ts":"2024-01-02 03:04:05.678","amount":12.34,"tag":"x"}` + "\n",
		},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.setup {
				mustQuery(t, e, s)
			}
			if tt.insert != "" {
				if err := e.Insert(ctx, tt.insert, tt.format, tt.data); err != nil {
					t.Fatalf("Insert: %v", err)
				}
			}
			got, err := e.Query(ctx, tt.query, tt.out)
			if err != nil {
				t.Fatalf("Query(%q): %v", tt.query, err)
			}
			if string(got) != tt.want {
				t.Errorf("Query(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

func TestQueryStats(t *testing.T) {
	e := openEngine(t, Config{Conns: 1})
	out, st, err := e.QueryStats(context.Background(), "SELECT number FROM numbers(1000) WHERE number % 10 = 0", "RowBinary")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 100*8 || st.RowsRead != 100 || st.StorageRowsRead != 1000 || st.Elapsed <= 0 {
		t.Errorf("got %d bytes, stats %+v; want 800 bytes, 100 rows, 1000 storage rows, elapsed > 0", len(out), st)
	}
}

func TestInsert(t *testing.T) {
	e := openEngine(t, Config{Conns: 1})
	ctx := context.Background()
	mustQuery(t, e, "DROP TABLE IF EXISTS ins")
	mustQuery(t, e, "CREATE TABLE ins (id UInt64, name String) ENGINE = MergeTree ORDER BY id")

	t.Run("rows split across chunks", func(t *testing.T) {
		defer func(n int) { insertChunk = n }(insertChunk)
		insertChunk = 7 // every row (8+1+5 bytes) straddles a chunk boundary
		if err := e.Insert(ctx, "INSERT INTO ins (id, name)", "RowBinary", idNameRows(1000)); err != nil {
			t.Fatal(err)
		}
		if got := mustQuery(t, e, "SELECT count(), sum(id), min(name) FROM ins"); got != "1000\t500500\tn0001\n" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("no data", func(t *testing.T) {
		if err := e.Insert(ctx, "INSERT INTO ins (id, name)", "RowBinary", nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("cancelled between chunks", func(t *testing.T) {
		defer func(n int) { insertChunk = n }(insertChunk)
		insertChunk = 1 << 10
		mustQuery(t, e, "TRUNCATE TABLE ins")
		// Err is nil for acquire and the first two chunks, then Canceled.
		cctx := &countdownCtx{Context: ctx, left: 3}
		err := e.Insert(cctx, "INSERT INTO ins (id, name)", "RowBinary", idNameRows(10000))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Insert = %v, want context.Canceled", err)
		}
		// The connection (the only one) is fine afterwards and the insert was not committed.
		if got := mustQuery(t, e, "SELECT count() FROM ins"); got != "0\n" {
			t.Errorf("count after cancelled insert = %q, want 0", got)
		}
	})
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			insert, format string
			data           string
			code           int
		}{
			{"INSERT INTO no_such_table (id)", "CSV", "1\n", 60},
			{"INSERT INTO ins (no_such_column)", "CSV", "1\n", 16},
			{"INSERT INTO ins (id, name)", "JSONEachRow", "{nonsense\n", 26},
			{"INSERT INTO ins (id, name)", "RowBinary", "\x01\x02\x03", 33},
			{"INSERT INTO ins (id, name)", "NoSuchFormat", "1", 73},
			{"SELECT 1", "CSV", "1\n", 0}, // not an INSERT: refused by chDB itself
		}
		for _, tt := range tests {
			err := e.Insert(ctx, tt.insert, tt.format, []byte(tt.data))
			var ce *Error
			if !errors.As(err, &ce) || ce.Code != tt.code {
				t.Errorf("Insert(%q, %s) = %v, want *Error with code %d", tt.insert, tt.format, err, tt.code)
			}
		}
		if got := mustQuery(t, e, "SELECT 'still alive'"); got != "still alive\n" {
			t.Errorf("got %q", got)
		}
	})
}

// countdownCtx reports Canceled from the left+1-th call of Err on; its Done
// channel never fires, so only explicit Err checks see it.
type countdownCtx struct {
	context.Context
	mu   sync.Mutex
	left int
}

func (c *countdownCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left > 0 {
		c.left--
		return nil
	}
	return context.Canceled
}

func (c *countdownCtx) Done() <-chan struct{} { return nil }

func TestErrors(t *testing.T) {
	e := openEngine(t, Config{Conns: 1})
	tests := []struct {
		sql, format string
		code        int
		contains    string
	}{
		{"SELEC 1", "", 62, "(SYNTAX_ERROR)"},
		{"SELECT * FROM no_such_table", "", 60, "(UNKNOWN_TABLE)"},
		{"SELECT 1", "NoSuchFormat", 73, "(UNKNOWN_FORMAT)"},
		{"SELECT throwIf(1, 'boom')", "", 395, "boom"},
	}
	for _, tt := range tests {
		out, err := e.Query(context.Background(), tt.sql, tt.format)
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("Query(%q) = %q, %v; want *Error", tt.sql, out, err)
			continue
		}
		prefix := fmt.Sprintf("chdb: Code: %d. DB::Exception: ", tt.code)
		if ce.Code != tt.code || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(ce.Message, tt.contains) {
			t.Errorf("Query(%q): Code %d, %q; want code %d, prefix %q, containing %q", tt.sql, ce.Code, err, tt.code, prefix, tt.contains)
		}
	}
	if got := mustQuery(t, e, "SELECT 3"); got != "3\n" {
		t.Errorf("after errors: %q", got)
	}
	if (&Error{Message: "x"}).Error() != "chdb: x" || parseCode("no code here") != 0 {
		t.Error("Error formatting")
	}
}

func TestClassify(t *testing.T) {
	e := openEngine(t, Config{Conns: 1})
	tests := []struct {
		sql   string
		class Class
		flags Flag
		n     int
	}{
		{"SELECT 1", ReadOnly, 0, 1},
		{"SELECT * FROM system.tables", ReadOnly, 0, 1},
		{"SELECT 1 SETTINGS max_threads = 1", ReadOnly, 0, 1},
		{"SELECT * FROM file('x.csv')", ReadOnly, 0, 1},
		{"SELECT * FROM url('http://example.com/x.csv', CSV)", ReadOnly, 0, 1},
		{"SELECT * FROM remote('host:9000', system.one)", ReadOnly, 0, 1},
		{"SELECT * FROM s3('http://x/y', 'AKID', 'SECRET')", ReadOnly, HasSecrets, 1},
		{"SELECT 1; SELECT 2", ReadOnly, 0, 2},
		{"INSERT INTO t VALUES (1)", Mutating, 0, 1},
		{"CREATE TABLE t (a Int32) ENGINE = Memory", Mutating, 0, 1},
		{"DROP TABLE t", Mutating, 0, 1},
		{"CREATE DATABASE d", Mutating, ChangesDatabaseLifecycle, 1},
		{"SELECT 1; INSERT INTO t VALUES (1)", Mutating, 0, 2},
		{"CREATE USER u IDENTIFIED BY 'pw'", MutatingGlobal, HasSecrets, 1},
		{"SET max_threads = 1", Control, 0, 1},
		{"SET x = 1", Control, 0, 1},
		{"SYSTEM FLUSH LOGS", Control, 0, 1},
		{"USE default", Control, 0, 1},
		{"INSERT INTO FUNCTION file('a.csv', CSV) SELECT 1", Control, 0, 1},
		{"SELECT 1 INTO OUTFILE 'x'", Control, 0, 1},
		{"garbage !!", Unknown, 0, 0},
		{"", Unknown, 0, 0},
	}
	for _, tt := range tests {
		a, err := e.Classify(tt.sql)
		if err != nil {
			t.Errorf("Classify(%q): %v", tt.sql, err)
			continue
		}
		if a != (Analysis{Class: tt.class, Flags: tt.flags, Statements: tt.n}) {
			t.Errorf("Classify(%q) = %v flags %b n %d; want %v flags %b n %d", tt.sql, a.Class, a.Flags, a.Statements, tt.class, tt.flags, tt.n)
		}
	}
}

func TestOpen(t *testing.T) {
	lib := libOrSkip(t)
	t.Run("settings", func(t *testing.T) {
		e := openEngine(t, Config{LibraryPath: lib, Conns: 1, Settings: map[string]string{"max_threads": "3"}})
		if got := mustQuery(t, e, "SELECT getSetting('max_threads')"); got != "3\n" {
			t.Errorf("max_threads = %q, want 3", got)
		}
		if v := e.Version(); !strings.HasPrefix(v, "26.") {
			t.Errorf("Version() = %q", v)
		}
	})
	for name, cfg := range map[string]Config{
		"invalid setting value": {LibraryPath: lib, Settings: map[string]string{"max_threads": "many"}},
		"path as a setting":     {LibraryPath: lib, Settings: map[string]string{"path": "/tmp"}},
		"another library":       {LibraryPath: lib + ".other"},
	} {
		t.Run(name, func(t *testing.T) {
			if e, err := Open(cfg); err == nil {
				e.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

func TestContextAndClose(t *testing.T) {
	e, err := Open(Config{LibraryPath: libOrSkip(t), Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Query(cancelled, "SELECT 1", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Query(cancelled ctx) = %v", err)
	}

	// Hold the only connection: a caller with a deadline gives up waiting.
	c, err := e.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.Insert(short, "INSERT INTO x (a)", "CSV", []byte("1\n")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Insert while pool empty = %v, want DeadlineExceeded", err)
	}

	// Close waits for the held connection; a waiter is released with ErrClosed.
	waiter := make(chan error)
	go func() { _, err := e.Query(context.Background(), "SELECT 1", ""); waiter <- err }()
	closed := make(chan error)
	go func() { closed <- e.Close() }()
	if err := <-waiter; !errors.Is(err, ErrClosed) {
		t.Errorf("waiter = %v, want ErrClosed", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a connection was in use")
	case <-time.After(50 * time.Millisecond):
	}
	e.release(c)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}

	if _, err := e.Query(context.Background(), "SELECT 1", ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Query after Close = %v", err)
	}
	if err := e.Insert(context.Background(), "INSERT INTO x (a)", "CSV", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Insert after Close = %v", err)
	}
	if _, err := e.Classify("SELECT 1"); !errors.Is(err, ErrClosed) {
		t.Errorf("Classify after Close = %v", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestConcurrency(t *testing.T) {
	e := openEngine(t, Config{Conns: 2})
	ctx := context.Background()
	mustQuery(t, e, "DROP TABLE IF EXISTS conc")
	mustQuery(t, e, "CREATE TABLE conc (id UInt64, name String) ENGINE = MergeTree ORDER BY id")
	const goroutines, rounds = 8, 20
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range rounds {
				if g%2 == 0 { // writers
					if err := e.Insert(ctx, "INSERT INTO conc (id, name)", "RowBinary", idNameRows(100)); err != nil {
						t.Errorf("goroutine %d: Insert: %v", g, err)
						return
					}
					continue
				}
				n := 1000 + 10*g + i
				out, err := e.Query(ctx, fmt.Sprintf("SELECT sum(number) FROM numbers(%d)", n), "")
				if want := fmt.Sprintf("%d\n", n*(n-1)/2); err != nil || string(out) != want {
					t.Errorf("goroutine %d: got %q, %v; want %q", g, out, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, want := mustQuery(t, e, "SELECT count() FROM conc"), fmt.Sprintf("%d\n", goroutines/2*rounds*100); got != want {
		t.Errorf("count = %q, want %q", got, want)
	}
}

func TestPersistence(t *testing.T) {
	lib := libOrSkip(t)
	dir := t.TempDir()
	cfg := Config{LibraryPath: lib, DataDir: dir, Conns: 1}
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustQuery(t, e, "CREATE TABLE p (id UInt64, name String) ENGINE = MergeTree ORDER BY id")
	if err := e.Insert(context.Background(), "INSERT INTO p (id, name)", "RowBinary", idNameRows(500)); err != nil {
		t.Fatal(err)
	}

	// One storage path per process: another DataDir is refused while this one
	// is open, the same one is shared.
	if other, err := Open(Config{LibraryPath: lib, DataDir: t.TempDir()}); err == nil {
		other.Close()
		t.Fatal("Open with a second DataDir succeeded")
	}
	same, err := Open(Config{LibraryPath: lib, DataDir: dir, Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustQuery(t, same, "SELECT count() FROM p"); got != "500\n" {
		t.Errorf("second engine on the same DataDir: count = %q", got)
	}
	same.Close()
	e.Close()

	// Reopening in the same process works with this engine.
	e, err = Open(cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if got := mustQuery(t, e, "SELECT count(), sum(id) FROM p"); got != "500\t125250\n" {
		t.Errorf("after reopen: %q", got)
	}
	e.Close()

	// And the data is on disk for another process.
	out := runChild(t, "persistence", "LIVEPULSE_CHDB_TEST_DIR="+dir)
	if !strings.Contains(out, "count=500\n") {
		t.Errorf("child did not see the rows:\n%s", out)
	}
}

// TestSignalHandlers checks that chDB leaves the Go runtime's signal handlers
// alone: a recovered nil-pointer dereference must not hang or kill the
// process. It runs in a child so that a hang fails the test instead of
// hanging the suite.
func TestSignalHandlers(t *testing.T) {
	libOrSkip(t)
	out := runChild(t, "signals")
	if !strings.Contains(out, "signals ok\n") {
		t.Errorf("child output:\n%s", out)
	}
}

func runChild(t *testing.T, mode string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("child %q hung (killed after 60 s):\n%s", mode, out)
	}
	if err != nil {
		t.Fatalf("child %q: %v\n%s", mode, err, out)
	}
	return string(out)
}

var (
	nilStruct *struct{ x int }
	sink      int
)

// childMain is the body of a child process; it returns the exit code.
func childMain(mode string) int {
	fail := func(format string, args ...any) int {
		fmt.Printf("FAIL: "+format+"\n", args...)
		return 1
	}
	lib, err := FindLibrary("")
	if err != nil {
		return fail("%v", err)
	}
	ctx := context.Background()
	switch mode {
	case "persistence":
		e, err := Open(Config{LibraryPath: lib, DataDir: os.Getenv("LIVEPULSE_CHDB_TEST_DIR"), Conns: 1})
		if err != nil {
			return fail("Open: %v", err)
		}
		defer e.Close()
		out, err := e.Query(ctx, "SELECT count() FROM p", "")
		if err != nil {
			return fail("Query: %v", err)
		}
		fmt.Printf("count=%s", out)
		return 0
	case "signals":
		e, err := Open(Config{LibraryPath: lib, Conns: 2})
		if err != nil {
			return fail("Open: %v", err)
		}
		defer e.Close()
		for i := range 3 {
			// A query keeps engine threads busy while Go faults.
			busy := make(chan error, 1)
			go func() {
				_, err := e.Query(ctx, "SELECT count() FROM numbers(20000000) WHERE number % 7 = 1", "")
				busy <- err
			}()
			recovered := make(chan any)
			go func() {
				defer func() { recovered <- recover() }()
				sink = nilStruct.x // nil-pointer dereference: SIGSEGV
			}()
			if r, ok := (<-recovered).(error); !ok || !strings.Contains(r.Error(), "nil pointer dereference") {
				return fail("round %d: recovered %v, want a nil pointer dereference", i, r)
			}
			if err := <-busy; err != nil {
				return fail("round %d: busy query: %v", i, err)
			}
			out, err := e.Query(ctx, "SELECT 40 + 2", "")
			if err != nil || string(out) != "42\n" {
				return fail("round %d: query after recover: %q, %v", i, out, err)
			}
		}
		fmt.Println("signals ok")
		return 0
	}
	return fail("unknown child mode %q", mode)
}
