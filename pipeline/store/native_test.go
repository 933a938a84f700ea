package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// rowBinaryOnly hides the Native encoding of its rows: the embedded backend sends them as RowBinary.
type rowBinaryOnly struct{ store.Rows }

// TestNativeEqualsRowBinary inserts the same rows of every table once in the Native format (split
// into several chunks, as the table writer merges partitions) and once in RowBinary, and compares
// every column. The low-cardinality columns get dictionaries of every index width (up to 8 keys, searched in place,
// then in a map: up to 256 keys, 65,536 and beyond).
func TestNativeEqualsRowBinary(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	ingest := time.Date(2026, 11, 11, 0, 0, 2, 0, time.UTC)
	ts := ingest.Add(-time.Hour).UnixMilli()
	const half = 1_000_000 // RowBinary rows sit this far above their Native twins
	for _, distinct := range []int{3, 9, 256, 257, 70_000} {
		n := max(distinct, 1_000)
		h := func(i int) schemas.Header {
			return schemas.Header{EventID: fmt.Sprint("e-", i), TS: ts + int64(i), StreamID: fmt.Sprint("s-", i%7), KOLID: "kol",
				BrandID: fmt.Sprint("brand-", i%distinct), Platform: []string{"", "douyin", "taobao"}[i%3]}
		}
		src := func(i, base int) store.Source {
			return store.Source{Topic: fmt.Sprint("topic-", i%2), Partition: int32(i % 4), Offset: int64(base + i)}
		}
		var viewers, viewersRB store.ViewerRows
		var orders, ordersRB store.OrderRows
		var refunds, refundsRB store.RefundRows
		var dead, deadRB store.DeadLetters
		for i := range n {
			v := schemas.Viewer{Header: h(i), Action: schemas.Action(1 + i%5), ViewerID: fmt.Sprint("v-", i), SessionID: "", DeviceID: "d\x00\t",
				IP: "10.0.0.1", Kind: schemas.EngageKind(i % 5), ReportedViewers: uint64(i) << 20}
			o := schemas.Order{Header: h(i), OrderID: fmt.Sprint("o-", i), BuyerID: "b", SKUID: strings.Repeat("x", i%300), Quantity: uint32(1 + i),
				Amount: schemas.Money(i * 12345), Currency: fmt.Sprint("C", i%distinct)}
			r := schemas.Refund{Header: h(i), RefundID: fmt.Sprint("r-", i), OrderID: "o", BuyerID: "", Amount: schemas.Money(i),
				Currency: "CNY", Reason: fmt.Sprint("reason ", i)}
			d := store.DeadLetter{Key: []byte(fmt.Sprint("k", i)), Reason: schemas.Reason(fmt.Sprint("reason-", i%distinct)),
				Field: "f", Detail: "detail", Raw: []byte{byte(i), 0xff, 0}}
			viewers = append(viewers, store.ViewerRow{Src: src(i, 0), Ev: v, Late: i%2 == 0})
			viewersRB = append(viewersRB, store.ViewerRow{Src: src(i, half), Ev: v, Late: i%2 == 0})
			orders = append(orders, store.OrderRow{Src: src(i, 0), Ev: o, Late: i%3 == 0})
			ordersRB = append(ordersRB, store.OrderRow{Src: src(i, half), Ev: o, Late: i%3 == 0})
			refunds = append(refunds, store.RefundRow{Src: src(i, 0), Ev: r})
			refundsRB = append(refundsRB, store.RefundRow{Src: src(i, half), Ev: r})
			d.Src = src(i, 0)
			dead = append(dead, d)
			d.Src = src(i, half)
			deadRB = append(deadRB, d)
		}
		third := n / 3
		for _, c := range []struct {
			native   []store.Rows
			rowBin   store.Rows
			distinct int
		}{
			{[]store.Rows{viewers[:third], viewers[third : 2*third], viewers[2*third:]}, viewersRB, distinct},
			{[]store.Rows{orders[:third], orders[third:]}, ordersRB, distinct},
			{[]store.Rows{refunds}, refundsRB, distinct},
			{[]store.Rows{dead[:1], dead[1:]}, deadRB, distinct},
		} {
			table := c.rowBin.Table().Name
			if err := st.Insert(ctx, ingest, c.native...); err != nil {
				t.Fatalf("%s, %d distinct, Native: %v", table, distinct, err)
			}
			if err := st.Insert(ctx, ingest, rowBinaryOnly{c.rowBin}); err != nil {
				t.Fatalf("%s, %d distinct, RowBinary: %v", table, distinct, err)
			}
			rows := func(where string) string {
				return query(t, st, fmt.Sprintf("SELECT * EXCEPT kafka_offset, kafka_offset %% %d FROM %s WHERE %s ORDER BY kafka_offset", half, table, where))
			}
			native, rowBin := rows(fmt.Sprint("kafka_offset < ", half)), rows(fmt.Sprint("kafka_offset >= ", half))
			if native != rowBin {
				t.Fatalf("%s, %d distinct: the Native rows differ from the RowBinary ones:\n%.600s\nwant:\n%.600s", table, distinct, native, rowBin)
			}
			if got := strings.Count(native, "\n") + 1; got != n {
				t.Fatalf("%s, %d distinct: %d rows, want %d", table, distinct, got, n)
			}
			query(t, st, "TRUNCATE TABLE "+table)
		}
	}
}
