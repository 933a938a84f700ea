package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// TestServerBackend drives the clickhouse-go backend over the native protocol against a real
// clickhouse-server. Debian's is 18.16 (2018), which predates DateTime64: the table is created
// with the nearest older types, which is enough to prove the insert and query paths on the wire.
func TestServerBackend(t *testing.T) {
	srv := testenv.StartClickHouseServer(t)
	ctx := context.Background()
	b, err := store.OpenServer(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st := store.New(b, nil)

	// The real schema needs a modern server; on 18.16 the migration must fail clearly.
	if _, err := st.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "DateTime64") {
		t.Errorf("Migrate on ClickHouse 18.16: %v, want an error naming DateTime64", err)
	}
	if err := b.Exec(ctx, `CREATE TABLE orders (
		event_id String, ts DateTime, stream_id String, kol_id String, brand_id String, platform String,
		order_id String, buyer_id String, sku_id String, quantity UInt32, amount Decimal(18, 2), currency String,
		kafka_topic String, kafka_partition UInt32, kafka_offset UInt64, ingest_time DateTime, late UInt8
	) ENGINE = MergeTree PARTITION BY toDate(ingest_time) ORDER BY (stream_id, ts)`); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 11, 0, 0, 1, 0, time.UTC).UnixMilli()
	rows := make(store.OrderRows, 1000)
	var gmv schemas.Money
	for i := range rows {
		amount := schemas.Money(1999 + i)
		gmv += amount
		rows[i] = store.OrderRow{Src: store.Source{Topic: "livepulse.order", Partition: int32(i % 3), Offset: int64(i)},
			Ev: schemas.Order{Header: schemas.Header{EventID: "e" + string(rune('a'+i%26)), TS: ts, StreamID: "s", KOLID: "k"},
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
	// Like modern ClickHouse (output_format_decimal_trailing_zeros = 0), decimals print trimmed.
	f("SELECT count(), sum(amount) FROM orders", "", "1000\t"+strings.TrimSuffix(gmv.String(), ".00")+"\n")
	f("SELECT buyer_id, ts FROM orders LIMIT 1", "TabSeparated", "b\\t\"x\"\t2026-11-11 00:00:01\n")
	f("SELECT buyer_id, quantity FROM orders LIMIT 1", "CSVWithNames", "\"buyer_id\",\"quantity\"\n\"b\t\"\"x\"\"\",1\n")
	f("SELECT kafka_offset, amount FROM orders ORDER BY kafka_offset LIMIT 1", "JSONEachRow", `{"kafka_offset":"0","amount":"19.99"}`+"\n")
	if _, err := b.Query(ctx, "SELECT 1", "Parquet"); err == nil {
		t.Error("an unsupported format must be refused, not mis-rendered")
	}
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
}
