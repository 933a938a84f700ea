package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/livepulse/livepulse/dashboards/api"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/testenv"
)

// TestAuditCommand runs `livepulse audit` against a data directory no instance holds (the store
// opened in process) in every format, on one stream-minute whose figures are known.
func TestAuditCommand(t *testing.T) {
	testenv.Library(t)
	ctx := context.Background()
	dir := t.TempDir()
	so := storeOptions{dataDir: dir}
	st, err := so.open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	minute := time.Date(2026, 11, 11, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))
	if err := st.Insert(ctx, time.Now(), metrics.MinuteRows{{Minute: minute.UnixMilli(), StreamID: "s1", KOLID: "k1", BrandID: "b1",
		Platform: "douyin", Version: 1, GMV: 123_45, Orders: 3, Refunds: 1, RefundedOrders: 1, RefundAmount: 10_00,
		ConcurrentViewers: 40, PeakConcurrent: 50, ReportedViewers: 400, CountEvents: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	audit := func(args ...string) []byte {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		if err := runAudit(ctx, append([]string{"--data-dir", dir, "--from", "2026-11-11", "--out", out}, args...)); err != nil {
			t.Fatalf("audit %v: %v", args, err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	var rep api.AuditReport
	if err := json.Unmarshal(audit("--kol", "k1", "--format", "json"), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.KOLs) != 1 || rep.KOLs[0].GMV != 123_45 || rep.KOLs[0].NetGMV != 113_45 || rep.KOLs[0].PeakDisplayedViewers != 400 ||
		rep.KOLs[0].DisplayedToMeasured != 8 || rep.From != "2026-11-11T00:00:00+08:00" {
		t.Errorf("json: %+v", rep)
	}

	rows, err := csv.NewReader(bytes.NewReader(audit("--brand", "b1", "--format", "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][0] != "k1" || rows[1][4] != "123.45" || rows[1][5] != "113.45" {
		t.Errorf("csv: %q", rows)
	}

	if table := string(audit("--kol", "k1")); !strings.Contains(table, "123.45") || !strings.Contains(table, "113.45") {
		t.Errorf("table:\n%s", table)
	}

	rdr, err := file.NewParquetReader(bytes.NewReader(audit("--kol", "k1", "--format", "parquet")))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	gmv := tbl.Column(tbl.Schema().FieldIndices("gmv")[0]).Data().Chunk(0).(*array.Decimal128).Value(0)
	if tbl.NumRows() != 1 || gmv.LowBits() != 123_45 {
		t.Errorf("parquet: %d rows, gmv %v", tbl.NumRows(), gmv)
	}

	// With an instance holding the data directory, the command asks it: the same bytes.
	inProcess := audit("--brand", "b1", "--format", "json")
	st, err = so.open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var served atomic.Int64
	h := api.Handler(api.Config{Store: st})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1); h.ServeHTTP(w, r) }))
	defer srv.Close()
	addrFile := filepath.Join(dir, "livepulse.http")
	if err := os.WriteFile(addrFile, []byte(strings.TrimPrefix(srv.URL, "http://")), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(addrFile)
	if fromInstance := audit("--brand", "b1", "--format", "json"); !bytes.Equal(fromInstance, inProcess) {
		t.Errorf("the instance answered\n%s\nin process:\n%s", fromInstance, inProcess)
	}
	if served.Load() != 1 {
		t.Errorf("the instance served %d requests, want 1", served.Load())
	}

	for args, want := range map[string]string{
		"--kol nobody":          "no data",
		"--format csv":          "--kol or --brand is required",
		"--kol k1 --format xml": "bad format",
	} {
		err := runAudit(ctx, append([]string{"--data-dir", dir, "--from", "2026-11-11"}, strings.Fields(args)...))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("audit %s: %v, want an error mentioning %q", args, err, want)
		}
	}
}
