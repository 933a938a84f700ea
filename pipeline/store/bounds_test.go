package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
)

// forbidden is every class of statement a user's SQL must not run: each is refused by the
// read-only gate (ErrReadOnly) or by ClickHouse in readonly mode, and changes nothing.
var forbidden = []struct{ class, sql string }{
	{"DDL", "CREATE TABLE x (a UInt8) ENGINE = Memory"},
	{"DDL", "DROP TABLE orders"},
	{"DDL", "TRUNCATE TABLE orders"},
	{"DDL", "ALTER TABLE orders ADD COLUMN x UInt8"},
	{"DDL", "RENAME TABLE orders TO orders2"},
	{"DDL", "DETACH TABLE orders"},
	{"DDL", "ATTACH TABLE orders"},
	{"DDL", "OPTIMIZE TABLE orders FINAL"},
	{"DDL", "CREATE DATABASE evil"},
	{"DDL", "CREATE FUNCTION evil AS x -> x"},
	{"DML", "INSERT INTO orders SELECT * FROM orders"},
	{"DML", "ALTER TABLE orders DELETE WHERE 1"},
	{"DML", "ALTER TABLE orders UPDATE buyer_id = 'x' WHERE 1"},
	{"DML", "DELETE FROM orders WHERE 1"},
	{"SYSTEM", "SYSTEM FLUSH LOGS"},
	{"SYSTEM", "SYSTEM SHUTDOWN"},
	{"SYSTEM", "SYSTEM DROP MARK CACHE"},
	{"SYSTEM", "KILL QUERY WHERE 1"},
	{"settings", "SET max_result_rows = 0"},
	{"settings", "SET readonly = 0"},
	{"settings", "SELECT count() FROM orders SETTINGS readonly = 0"},
	{"settings", "SELECT number FROM system.numbers LIMIT 200 SETTINGS max_result_rows = 0"},
	{"settings", "SELECT number FROM system.numbers LIMIT 200 SETTINGS max_execution_time = 0, max_result_bytes = 0"},
	{"settings", "USE system"},
	{"table function", "SELECT * FROM file('/etc/passwd', 'LineAsString')"},
	{"table function", "SELECT * FROM FILE /* hidden */ ('/etc/passwd', 'LineAsString')"},
	{"table function", "SELECT * FROM file\n('/etc/passwd', 'LineAsString')"},
	{"table function", "SELECT * FROM url('http://127.0.0.1:1/', 'CSV', 'a String')"},
	{"table function", "SELECT * FROM s3('http://127.0.0.1:1/b/k', 'CSV')"},
	{"table function", "SELECT * FROM remote('127.0.0.1', system.one)"},
	{"table function", "SELECT * FROM remoteSecure('127.0.0.1', system.one)"},
	{"table function", "SELECT * FROM cluster('default', system.one)"},
	{"table function", "SELECT * FROM mysql('127.0.0.1:1', 'db', 't', 'u', 'p')"},
	{"table function", "SELECT * FROM postgresql('127.0.0.1:1', 'db', 't', 'u', 'p')"},
	{"table function", "SELECT * FROM hdfs('hdfs://127.0.0.1:1/x', 'CSV', 'a String')"},
	{"table function", "SELECT * FROM jdbc('jdbc:x', 't')"},
	{"table function", "SELECT * FROM odbc('DSN=x', 't')"},
	{"table function", "SELECT * FROM executable('cat /etc/passwd', 'LineAsString', 'a String')"},
	{"table function", "SELECT * FROM input('a String')"},
	{"table function", "SELECT * FROM azureBlobStorage('http://127.0.0.1:1', 'c', 'b')"},
	{"table function", "SELECT * FROM sqlite('/tmp/x.db', 't')"},
	{"table function", "SELECT * FROM mongodb('127.0.0.1:1', 'db', 'c', 'u', 'p', 'a String')"},
	{"outfile", "SELECT 1 INTO OUTFILE '/tmp/livepulse-outfile'"},
	{"multiple statements", "SELECT 1; DROP TABLE orders"},
	{"multiple statements", "SELECT 1; SELECT 2"},
}

// TestQueryForbidden tries every forbidden class against the embedded engine: the read-only gate
// or the engine in readonly mode refuses each (ErrReadOnly), and nothing changes.
func TestQueryForbidden(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	for _, f := range forbidden {
		_, err := st.QueryReadOnly(ctx, f.sql, "")
		if !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("%s: %q: %v, want ErrReadOnly", f.class, f.sql, err)
		}
	}
	if got := query(t, st, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'orders'"); got != "1" {
		t.Fatalf("orders table gone")
	}
	if got := query(t, st, "SELECT count() FROM system.databases WHERE name = 'evil'"); got != "0" {
		t.Fatalf("a database was created")
	}
}

// TestQueryBounds proves the time, row and byte limits fire on the embedded engine, and that a
// query cannot lift them with its own SETTINGS, while ingestion's queries stay unbounded.
func TestQueryBounds(t *testing.T) {
	st := testenv.Store(t)
	if err := st.SetQueryLimits(store.QueryLimits{Timeout: time.Second, MaxRows: 1000, MaxBytes: 100_000}); err != nil {
		t.Fatal(err)
	}
	testenv.CheckQueryBounds(t, st)
	// The store's own (ingestion) queries are not bounded.
	if got := query(t, st, "SELECT count() FROM (SELECT number FROM system.numbers LIMIT 5000)"); got != "5000" {
		t.Fatalf("unbounded count = %s", got)
	}
	if out, err := st.Backend().Query(context.Background(), "SELECT number FROM system.numbers LIMIT 5000", ""); err != nil || strings.Count(string(out), "\n") != 5000 {
		t.Fatalf("ingestion's query bounded: %d lines, %v", strings.Count(string(out), "\n"), err)
	}
}

// checkBounds runs the limit probes against st (limits: 1 s, 1000 rows, 100 kB).

// TestQueryBoundsServer runs the same probes through the clickhouse-go backend against a real
// clickhouse-server (Debian's 18.16): the limits travel as query settings with readonly=1.
func TestQueryBoundsServer(t *testing.T) {
	srv := testenv.StartClickHouseServer(t)
	ctx := context.Background()
	b, err := store.OpenServer(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(b, nil)
	defer st.Close()
	if err := b.Exec(ctx, "CREATE TABLE orders (buyer_id String, kafka_offset UInt64) ENGINE = MergeTree ORDER BY kafka_offset"); err != nil {
		t.Fatal(err)
	}
	if err := b.Exec(ctx, "INSERT INTO orders SELECT 'b', number FROM system.numbers LIMIT 10"); err != nil {
		t.Fatal(err)
	}
	for _, f := range forbidden {
		if _, err := st.QueryReadOnly(ctx, f.sql, ""); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("%s: %q: %v, want ErrReadOnly", f.class, f.sql, err)
		}
	}
	if out, err := b.Query(ctx, "SELECT count(), sum(kafka_offset) FROM orders", ""); err != nil || string(out) != "10\t45\n" {
		t.Fatalf("orders changed: %q %v", out, err)
	}
	if err := st.SetQueryLimits(store.QueryLimits{Timeout: time.Second, MaxRows: 1000, MaxBytes: 100_000}); err != nil {
		t.Fatal(err)
	}
	testenv.CheckQueryBounds(t, st)
}
