package chdb

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkInsertRowBinary inserts 100k rows of 5 columns per op through the
// insert stream into a MergeTree table.
func BenchmarkInsertRowBinary(b *testing.B) {
	e := openEngine(b, Config{Conns: 1})
	mustQuery(b, e, "DROP TABLE IF EXISTS bench")
	mustQuery(b, e, `CREATE TABLE bench (id UInt64, ts DateTime64(3, 'UTC'), value Float64,
		name String, tag LowCardinality(String)) ENGINE = MergeTree ORDER BY id`)

	const rows = 100_000
	var data rowBinary
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := range rows {
		data = data.u64(uint64(i)).i64(t0 + int64(i)).f64(float64(i) / 3).
			str(fmt.Sprintf("name-%06d", i)).str(fmt.Sprintf("tag-%d", i%16))
	}
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	ops := 0
	for b.Loop() {
		if err := e.Insert(ctx, "INSERT INTO bench (id, ts, value, name, tag)", "RowBinary", data); err != nil {
			b.Fatal(err)
		}
		ops++
	}
	b.ReportMetric(float64(ops*rows)/b.Elapsed().Seconds(), "rows/s")
}
