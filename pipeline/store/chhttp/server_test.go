package chhttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/shopspring/decimal"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/store/chhttp"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// serve starts the HTTP interface over a fresh, unmigrated embedded store.
func serve(t *testing.T, users map[string]chhttp.User) (*httptest.Server, *store.Embedded) {
	t.Helper()
	st := testenv.Store(t)
	b := st.Backend().(*store.Embedded)
	srv := httptest.NewServer(chhttp.Handler(chhttp.Config{Store: b, Users: users}))
	t.Cleanup(srv.Close)
	return srv, b
}

// TestServerBackendOverHTTP drives store.Server — clickhouse-go/v2 with Protocol HTTP — against
// the embedded engine behind chhttp: migrations, the real schema, multi-chunk inserts (Native
// bodies through the engine's insert stream), every output format, Resume, the read-only gate.
func TestServerBackendOverHTTP(t *testing.T) {
	srv, _ := serve(t, map[string]chhttp.User{"livepulse": {Password: "w"}})
	ctx := context.Background()
	u, _ := url.Parse(srv.URL)
	b, err := store.OpenServer(ctx, "http://livepulse:w@"+u.Host+"/default")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st := store.New(b, nil)
	if from, err := st.Migrate(ctx); err != nil || from != store.SchemaVersion() {
		// testenv.Store migrated the engine already: over HTTP it must find that.
		t.Fatalf("Migrate over HTTP: from %d, %v; want from %d", from, err, store.SchemaVersion())
	}
	ts := time.Date(2026, 11, 11, 0, 0, 1, 0, time.UTC).UnixMilli()
	rows := make(store.OrderRows, 1000)
	var gmv schemas.Money
	for i := range rows {
		amount := schemas.Money(1999 + i)
		gmv += amount
		rows[i] = store.OrderRow{Src: store.Source{Topic: "livepulse.order", Partition: int32(i % 3), Offset: int64(i)},
			Ev: schemas.Order{Header: schemas.Header{EventID: "e" + string(rune('a'+i%26)), TS: ts, StreamID: "s", KOLID: "k", Platform: "taobao"},
				OrderID: "o", BuyerID: "b\t\"x\"", Quantity: 1, Amount: amount, Currency: "CNY"}}
	}
	if err := st.Insert(ctx, time.Now(), rows[:500], rows[500:]); err != nil {
		t.Fatal(err)
	}
	f := func(sql, format, want string) {
		t.Helper()
		out, err := b.Query(ctx, sql, format)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if string(out) != want {
			t.Errorf("%s FORMAT %s = %q, want %q", sql, format, out, want)
		}
	}
	f("SELECT count(), sum(amount) FROM orders", "", "1000\t"+strings.TrimSuffix(gmv.String(), ".00")+"\n")
	f("SELECT buyer_id, ts FROM orders LIMIT 1", "TabSeparated", "b\\t\"x\"\t2026-11-11 00:00:01.000\n")
	f("SELECT buyer_id, quantity FROM orders LIMIT 1", "CSVWithNames", "\"buyer_id\",\"quantity\"\n\"b\t\"\"x\"\"\",1\n")
	f("SELECT kafka_offset, amount FROM orders ORDER BY kafka_offset LIMIT 1", "JSONEachRow", `{"kafka_offset":0,"amount":19.99}`+"\n")
	f("SELECT 1 FORMAT CSV", "JSONEachRow", "1\n")
	resume, err := st.Resume(ctx, schemas.Orders, "livepulse.order")
	if err != nil {
		t.Fatal(err)
	}
	if len(resume) != 3 || resume[0] != 999 || resume[1] != 997 || resume[2] != 998 {
		t.Errorf("Resume = %v, want map[0:999 1:997 2:998]", resume)
	}
	if err := store.CheckReadOnly(b, "DROP TABLE orders"); err == nil {
		t.Error("DROP allowed through the server backend's read-only gate")
	}
	if _, err := b.Query(ctx, "SELECT * FROM nowhere", ""); err == nil || !strings.Contains(err.Error(), "Code: 60.") {
		t.Errorf("unknown table: %v, want Code: 60", err)
	}
}

// TestNativeScan reads typed values through clickhouse-go's Native decoding (the path Grafana's
// datasource takes): the engine's revision-0 blocks re-encoded at the client's revision.
func TestNativeScan(t *testing.T) {
	srv, _ := serve(t, nil)
	u, _ := url.Parse(srv.URL)
	conn, err := clickhouse.Open(&clickhouse.Options{Protocol: clickhouse.HTTP, Addr: []string{u.Host}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT toDateTime64('2026-11-11 00:00:01.250', 3, 'UTC') AS ts, toDecimal64('12.34', 2) AS d,
		toLowCardinality(toString(number)) AS lc, number AS n, [1, 2] AS arr, toNullable('x') AS nul FROM numbers(70000)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int
	for rows.Next() {
		var (
			ts  time.Time
			d   decimal.Decimal
			lc  string
			num uint64
			arr []uint8
			nul *string
		)
		if err := rows.Scan(&ts, &d, &lc, &num, &arr, &nul); err != nil {
			t.Fatal(err)
		}
		if !ts.Equal(time.Date(2026, 11, 11, 0, 0, 1, 250e6, time.UTC)) || d.String() != "12.34" || lc != num2str(num) || len(arr) != 2 || nul == nil || *nul != "x" {
			t.Fatalf("row %d: %v %v %q %d %v %v", n, ts, d, lc, num, arr, nul)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 70000 { // several blocks
		t.Errorf("%d rows, want 70000", n)
	}
}

func num2str(n uint64) string { return decimal.NewFromUint64(n).String() }

// TestHTTPInterface checks the protocol details other clients (curl, Grafana) rely on.
func TestHTTPInterface(t *testing.T) {
	srv, _ := serve(t, map[string]chhttp.User{"livepulse": {Password: "w"}, "reader": {Password: "r", ReadOnly: true}})
	type want struct {
		status int
		body   string // prefix
		code   string // X-ClickHouse-Exception-Code
		format string // X-ClickHouse-Format
	}
	do := func(method, path, body string, hdr map[string]string, w want) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != w.status || !strings.HasPrefix(string(got), w.body) ||
			resp.Header.Get("X-ClickHouse-Exception-Code") != w.code || resp.Header.Get("X-ClickHouse-Format") != w.format {
			t.Errorf("%s %s %q: %d %q code=%q format=%q, want %+v", method, path, body, resp.StatusCode, got,
				resp.Header.Get("X-ClickHouse-Exception-Code"), resp.Header.Get("X-ClickHouse-Format"), w)
		}
	}
	writer := map[string]string{"X-ClickHouse-User": "livepulse", "X-ClickHouse-Key": "w"}
	reader := map[string]string{"Authorization": "Basic cmVhZGVyOnI="} // reader:r
	do("GET", "/ping", "", nil, want{status: 200, body: "Ok.\n"})
	do("GET", "/nowhere", "", nil, want{status: 404, code: "48", body: "Code: 48."})
	do("PUT", "/", "SELECT 1", writer, want{status: 405, code: "48", body: "Code: 48."})
	do("GET", "/?query=SELECT+1", "", nil, want{status: 403, body: "Code: 516. DB::Exception: default: Authentication failed", code: "516"})
	do("GET", "/?query=SELECT+1&user=livepulse&password=bad", "", nil, want{status: 403, code: "516", body: "Code: 516."})
	do("GET", "/?query=SELECT+1%2B1&user=livepulse&password=w", "", nil, want{status: 200, body: "2\n", format: "TabSeparated"})
	do("POST", "/?default_format=JSONEachRow", "SELECT 1 AS a", reader, want{status: 200, body: `{"a":1}`, format: "JSONEachRow"})
	do("POST", "/?default_format=JSONEachRow", "SELECT 1 AS a FORMAT CSVWithNames", reader, want{status: 200, body: "\"a\"\n1\n", format: "CSVWithNames"})
	do("POST", "/?max_result_rows=1&result_overflow_mode=break", "SELECT number FROM numbers(10) SETTINGS max_block_size=1", reader, want{status: 200, body: "0\n", format: "TabSeparated"})
	do("POST", "/?no_such_setting=1", "SELECT 1", reader, want{status: 404, code: "115", body: "Code: 115."})
	do("POST", "/", "DROP TABLE orders", reader, want{status: 403, code: "164", body: "Code: 164. DB::Exception: Cannot execute query in readonly mode"})
	do("POST", "/", "SELECT * FROM url('http://example.com', CSV)", reader, want{status: 403, code: "164", body: "Code: 164."})
	do("GET", "/?query=DROP+TABLE+orders", "", writer, want{status: 403, code: "164", body: "Code: 164."})
	do("POST", "/", "SELECT * FROM nowhere", writer, want{status: 404, code: "60", body: "Code: 60. DB::Exception: Unknown table"})
	do("POST", "/", "SELEC 1", writer, want{status: 400, code: "62", body: "Code: 62. DB::Exception: Syntax error"})
	do("POST", "/?compress=1", "SELECT 1", writer, want{status: 501, code: "48", body: "Code: 48."})
	do("POST", "/?database=other", "SELECT 1", writer, want{status: 404, code: "81", body: "Code: 81."})
	// INSERT: data in the body after the statement, or the statement in the query parameter.
	do("POST", "/", "CREATE TABLE t (a UInt32, s String) ENGINE = MergeTree ORDER BY a", writer, want{status: 200, format: "TabSeparated"})
	do("POST", "/", "INSERT INTO t FORMAT JSONEachRow\n{\"a\":1,\"s\":\"x\"}\n{\"a\":2,\"s\":\"y\"}", writer, want{status: 200})
	do("POST", "/?query="+url.QueryEscape("INSERT INTO t (a, s) FORMAT TabSeparated"), "3\tz\n", writer, want{status: 200})
	do("POST", "/?query="+url.QueryEscape("INSERT INTO t FORMAT CSV"), "3,z\n", reader, want{status: 403, code: "164", body: "Code: 164."})
	do("POST", "/", "SELECT count(), sum(a), arraySort(groupArray(s)) FROM t", reader, want{status: 200, body: "3\t6\t['x','y','z']\n", format: "TabSeparated"})
}

// TestGrafanaDatasourceConnection connects the way Grafana's official ClickHouse datasource does
// in HTTP mode (grafana/clickhouse-datasource pkg/plugin/driver.go: clickhouse.OpenDB, gzip
// compression, its row limit as the setting `limit`, a read-only user, SELECT version()).
func TestGrafanaDatasourceConnection(t *testing.T) {
	srv, _ := serve(t, map[string]chhttp.User{"livepulse": {Password: "w"}, "grafana": {Password: "g", ReadOnly: true}})
	u, _ := url.Parse(srv.URL)
	db := clickhouse.OpenDB(&clickhouse.Options{
		Addr:        []string{u.Host},
		Auth:        clickhouse.Auth{Database: "default", Username: "grafana", Password: "g"},
		Protocol:    clickhouse.HTTP,
		Compression: &clickhouse.Compression{Method: clickhouse.CompressionGZIP},
		Settings:    clickhouse.Settings{"limit": 3},
		DialTimeout: 5 * time.Second,
	})
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	var version string
	if err := db.QueryRow("SELECT version()").Scan(&version); err != nil || !strings.HasPrefix(version, "26.") {
		t.Fatalf("SELECT version(): %q, %v", version, err)
	}
	rows, err := db.Query("SELECT toStartOfMinute(toDateTime64('2026-11-11 00:00:00', 3, 'UTC') + number * 60) AS t, number * 2 AS v FROM numbers(10)")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var ts time.Time
		var v uint64
		if err := rows.Scan(&ts, &v); err != nil {
			t.Fatal(err)
		}
		n++
	}
	rows.Close()
	if n != 3 {
		t.Errorf("%d rows with the datasource's row limit 3", n)
	}
	if _, err := db.Exec("DROP TABLE orders"); err == nil || !strings.Contains(err.Error(), "164") {
		t.Errorf("DROP TABLE through the read-only Grafana user: %v, want Code 164", err)
	}
}

// TestQueryBoundsOverHTTP: an instance whose store is `livepulse store` (the server backend over
// HTTP) bounds users' SQL too: the limits travel as URL settings with readonly=1.
func TestQueryBoundsOverHTTP(t *testing.T) {
	srv, _ := serve(t, map[string]chhttp.User{"livepulse": {Password: "w"}})
	u, _ := url.Parse(srv.URL)
	b, err := store.OpenServer(context.Background(), "http://livepulse:w@"+u.Host+"/default")
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(b, nil)
	defer st.Close()
	if _, err := st.QueryReadOnly(context.Background(), "DROP TABLE orders", ""); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("DROP TABLE over HTTP: %v, want ErrReadOnly", err)
	}
	if err := st.SetQueryLimits(store.QueryLimits{Timeout: time.Second, MaxRows: 1000, MaxBytes: 100_000}); err != nil {
		t.Fatal(err)
	}
	testenv.CheckQueryBounds(t, st)
}

// TestReaderBounded: the store's read-only user (Grafana, dashboards) gets /api/query's rules —
// readonly mode, time, row and byte limits — while the writer is not limited.
func TestReaderBounded(t *testing.T) {
	b := testenv.Store(t).Backend().(*store.Embedded)
	st := store.New(b, nil)
	if err := st.SetQueryLimits(store.QueryLimits{Timeout: time.Second, MaxRows: 1000, MaxBytes: 100_000}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(chhttp.Handler(chhttp.Config{Store: b, ReadOnlyQuery: st.QueryReadOnly,
		Users: map[string]chhttp.User{"livepulse": {Password: "w"}, "reader": {Password: "r", ReadOnly: true}}}))
	defer srv.Close()
	f := func(user, sql, wantCode string, wantLines int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/?max_result_rows=0", strings.NewReader(sql))
		req.SetBasicAuth(user, map[string]string{"livepulse": "w", "reader": "r"}[user])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if code := resp.Header.Get("X-ClickHouse-Exception-Code"); code != wantCode {
			t.Fatalf("%s: %q: exception %q, want %q: %s", user, sql, code, wantCode, body)
		}
		if wantCode == "" && strings.Count(string(body), "\n") != wantLines {
			t.Errorf("%s: %q: %d lines, want %d", user, sql, strings.Count(string(body), "\n"), wantLines)
		}
	}
	f("reader", "SELECT number FROM system.numbers LIMIT 1000", "", 1000)
	f("reader", "SELECT number FROM system.numbers LIMIT 1001", "396", 0) // TOO_MANY_ROWS_OR_BYTES; the URL's max_result_rows=0 is not applied
	f("reader", "SELECT count() FROM system.numbers", "159", 0)           // TIMEOUT_EXCEEDED after 1 s
	f("reader", "DROP TABLE orders", "164", 0)                            // READONLY
	f("livepulse", "SELECT number FROM system.numbers LIMIT 5000", "", 5000)
}
