package store

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livepulse/livepulse/pipeline/store/chdb"
)

var update = flag.Bool("update", false, "rewrite testdata/cluster_ddl.sql")

// TestClusterDDL: every statement of the cluster schema parses with ClickHouse 26.7's own parser
// (the embedded engine's formatQuery; no modern server runs here, and Replicated tables need
// Keeper), has the shape the effectively-once rules need, and matches the reviewed golden file.
func TestClusterDDL(t *testing.T) {
	ddl, err := ClusterDDL("livepulse")
	if err != nil {
		t.Fatal(err)
	}
	lib, err := chdb.FindLibrary("")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	e, err := chdb.Open(chdb.Config{LibraryPath: lib})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var formatted []string
	locals, distributed := 0, 0
	for _, stmt := range ddl {
		out, err := e.Query(context.Background(), "SELECT formatQuery("+quote(stmt)+")", "TSVRaw")
		if err != nil {
			t.Fatalf("does not parse: %v\n%s", err, stmt)
		}
		f := strings.TrimSpace(string(out))
		formatted = append(formatted, f+";")
		if !strings.Contains(f, "ON CLUSTER livepulse") {
			t.Errorf("not ON CLUSTER: %s", f)
		}
		switch {
		case strings.Contains(f, "ENGINE = Distributed("):
			distributed++
			if strings.Contains(f, "INDEX ") {
				t.Errorf("Distributed table with indexes: %s", f)
			}
			key := "kafka_partition)"
			if strings.Contains(f, "anomaly_flags") {
				key = "cityHash64(flag_id))"
			}
			if !strings.HasSuffix(f, key) {
				t.Errorf("Distributed table not sharded by %s: %s", key, f)
			}
		case strings.HasPrefix(f, "CREATE TABLE"):
			locals++
			if !strings.Contains(f, "ENGINE = Replicated") || !strings.Contains(f, "'{replica}'") {
				t.Errorf("not a Replicated engine: %s", f)
			}
			if !strings.Contains(f, "schema_migrations") && !strings.Contains(f, "/{shard}/") {
				t.Errorf("sharded table without {shard} in its Keeper path: %s", f)
			}
		}
	}
	// 8 tables: 7 sharded (local + Distributed), schema_migrations on every node.
	if locals != 8 || distributed != 7 {
		t.Errorf("%d local and %d Distributed tables, want 8 and 7", locals, distributed)
	}
	// The settings writers need exist under these names.
	for k := range ClusterInsertSettings {
		if _, err := e.Query(context.Background(), "SELECT getSetting('"+k+"')", ""); err != nil {
			t.Errorf("setting %s: %v", k, err)
		}
	}
	golden := filepath.Join("testdata", "cluster_ddl.sql")
	got := strings.Join(formatted, "\n\n") + "\n"
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("cluster DDL differs from %s (rerun with -update after reviewing)", golden)
	}
}

func TestClusterNameRefused(t *testing.T) {
	if _, err := ClusterDDL("x; DROP"); err == nil {
		t.Error("a cluster name that is not an identifier was accepted")
	}
}
