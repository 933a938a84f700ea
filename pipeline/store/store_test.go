package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

func query(t *testing.T, st *store.Store, sql string) string {
	t.Helper()
	out, err := st.Backend().Query(context.Background(), sql, "TabSeparated")
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return strings.TrimSpace(string(out))
}

func TestMigrateIsIdempotent(t *testing.T) {
	st := testenv.Store(t) // migrated once
	from, err := st.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if from != store.SchemaVersion() {
		t.Fatalf("second migrate found version %d, want %d", from, store.SchemaVersion())
	}
	for _, tbl := range schemas.Tables {
		got := query(t, st, "SELECT name, replaceAll(type, '\\'', '\"') FROM system.columns WHERE database = currentDatabase() AND table = '"+tbl.Name+"' ORDER BY position")
		var want []string
		for _, c := range tbl.Columns {
			want = append(want, c.Name+"\t"+strings.ReplaceAll(c.Type.ClickHouse(), "'", `"`))
		}
		if got != strings.Join(want, "\n") {
			t.Errorf("%s columns:\n%s\nwant:\n%s", tbl.Name, got, strings.Join(want, "\n"))
		}
	}
}

// TestRowBinaryRoundTrip inserts one row of every table through the insert stream and reads it
// back: the hand-written encoders must match the generated DDL column for column.
func TestRowBinaryRoundTrip(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	ts := time.Date(2026, 11, 11, 0, 0, 1, 234e6, time.UTC).UnixMilli()
	h := schemas.Header{EventID: "e-1", TS: ts, StreamID: "s-1", KOLID: "kol-1", BrandID: "b-1", Platform: "taobao"}
	src := store.Source{Topic: "t", Partition: 3, Offset: 42}
	ingest := time.Date(2026, 11, 11, 0, 0, 2, 0, time.UTC)
	rows := []store.Rows{
		store.ViewerRows{{Src: src, Ev: schemas.Viewer{Header: h, Action: schemas.ActionEngage, ViewerID: "v\t1", SessionID: "se", DeviceID: "d", IP: "10.0.0.1", Kind: schemas.EngageShare}}},
		store.OrderRows{{Src: src, Ev: schemas.Order{Header: h, OrderID: "o", BuyerID: "b", SKUID: "sku", Quantity: 3, Amount: 123456789012, Currency: "CNY"}}},
		store.RefundRows{{Src: src, Ev: schemas.Refund{Header: h, RefundID: "r", OrderID: "o", BuyerID: "b", Amount: 5, Currency: "USD", Reason: "broken \"box\""}}},
		store.DeadLetters{{Src: src, Key: []byte("k"), Reason: schemas.ReasonNotUTF8, Field: "f", Detail: "d", Raw: []byte{0xff, 0x00, 'x'}}},
	}
	want := map[string]map[string]any{
		"viewer_events": {"event_id": "e-1", "ts": "2026-11-11 00:00:01.234", "stream_id": "s-1", "kol_id": "kol-1", "brand_id": "b-1", "platform": "taobao",
			"action": "engage", "viewer_id": "v\t1", "session_id": "se", "device_id": "d", "ip": "10.0.0.1", "kind": "share", "reported_viewers": "0",
			"kafka_topic": "t", "kafka_partition": 3.0, "kafka_offset": "42", "ingest_time": "2026-11-11 00:00:02.000"},
		"orders":  {"order_id": "o", "quantity": 3.0, "amount": "1234567890.12", "currency": "CNY", "kafka_offset": "42"},
		"refunds": {"refund_id": "r", "amount": "0.05", "currency": "USD", "reason": "broken \"box\""},
		"dead_letters": {"kafka_key": "k", "reason": "not_utf8", "field": "f", "detail": "d", "kafka_partition": 3.0,
			"ingest_time": "2026-11-11 00:00:02.000"},
	}
	for _, r := range rows {
		if err := st.Insert(ctx, ingest, r); err != nil {
			t.Fatalf("%s: %v", r.Table().Name, err)
		}
		out, err := st.Backend().Query(ctx, "SELECT * FROM "+r.Table().Name+" SETTINGS output_format_json_quote_64bit_integers = 1, output_format_json_quote_decimals = 1", "JSONEachRow")
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %s: %v", r.Table().Name, out, err)
		}
		for k, v := range want[r.Table().Name] {
			if fmt.Sprint(got[k]) != fmt.Sprint(v) {
				t.Errorf("%s.%s = %v, want %v", r.Table().Name, k, got[k], v)
			}
		}
		if len(r.Values(0, ingest)) != len(r.Table().Columns) {
			t.Errorf("%s: clickhouse-go values have %d columns, table %d", r.Table().Name, len(r.Values(0, ingest)), len(r.Table().Columns))
		}
	}
	if got := query(t, st, "SELECT hex(raw) FROM dead_letters"); got != "FF0078" {
		t.Errorf("raw bytes %s, want FF0078", got)
	}
	resume, err := st.Resume(ctx, schemas.Orders, "t")
	if err != nil || resume[3] != 42 || len(resume) != 1 {
		t.Errorf("Resume = %v, %v; want map[3:42]", resume, err)
	}
}

// TestInsertIsOnePart: effectively-once rests on an INSERT being one part (all or nothing).
func TestInsertIsOnePart(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	parts := func() string {
		return query(t, st, "SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'viewer_events' AND active")
	}
	rows := make(store.ViewerRows, 200_000)
	for i := range rows {
		// Event times span three days: the day partitioning must not split the insert.
		rows[i] = store.ViewerRow{Src: store.Source{Topic: "t", Offset: int64(i)}, Ev: schemas.Viewer{
			Header: schemas.Header{EventID: fmt.Sprint(i), TS: time.Now().Add(-time.Duration(i%3) * 24 * time.Hour).UnixMilli(), StreamID: fmt.Sprint(i % 1000), KOLID: "k"},
			Action: schemas.ActionHeartbeat, ViewerID: "v"}}
	}
	for i, want := range []string{"1", "2"} {
		if err := st.Insert(ctx, time.Now(), rows[i*100_000:(i+1)*100_000]); err != nil {
			t.Fatal(err)
		}
		if got := parts(); got != want {
			t.Fatalf("after insert %d: %s active parts, want %s", i+1, got, want)
		}
	}
}

func TestQueryReadOnly(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	f := func(sql string, allowed bool) {
		t.Helper()
		_, err := st.QueryReadOnly(ctx, sql, "")
		switch {
		case allowed && err != nil:
			t.Errorf("%q: %v, want allowed", sql, err)
		case !allowed && !errors.Is(err, store.ErrReadOnly):
			t.Errorf("%q: %v, want ErrReadOnly", sql, err)
		}
	}
	f("SELECT count() FROM orders", true)
	f("  select 1 FORMAT JSON;", true)
	f("WITH 1 AS x SELECT x", true)
	f("SHOW TABLES", true)
	f("DESCRIBE TABLE orders", true)
	f("EXPLAIN SELECT 1", true)
	f("DROP TABLE orders", false)
	f("TRUNCATE TABLE orders", false)
	f("INSERT INTO orders SELECT * FROM orders", false)
	f("ALTER TABLE orders DELETE WHERE 1", false)
	f("CREATE TABLE x (a UInt8) ENGINE = Memory", false)
	f("SYSTEM FLUSH LOGS", false)
	f("SET max_threads = 1", false)
	f("SELECT 1; DROP TABLE orders", false)
	f("SELECT * FROM file('/etc/passwd', 'LineAsString')", false)
	f("SELECT * FROM url('http://127.0.0.1:1/', 'CSV', 'a String')", false)
	f("SELECT * FROM remote('127.0.0.1', system.one)", false)
	f("SELECT * FROM s3('http://x/y', 'CSV')", false)
	f("SELECT 1 INTO OUTFILE '/tmp/x'", false)
	if got := query(t, st, "SELECT count() FROM orders"); got != "0" {
		t.Fatalf("orders changed: %s rows", got)
	}
}
