package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestComposeClusterConfig validates docker-compose.cluster.yml with docker-compose and checks
// that it is a two-shard cluster with Keeper whose name, shards and macros agree with what
// livepulse is told (--clickhouse-cluster) and what the cluster DDL's Keeper paths need.
func TestComposeClusterConfig(t *testing.T) {
	bin := composeBinary(t)
	file := filepath.Join(composeRepoRoot, "docker-compose.cluster.yml")
	stdout, stderr, err := composeRun(t, bin, nil, "-f", file, "config")
	if err != nil {
		t.Fatalf("docker-compose -f %s config: %v\n%s", file, err, stderr)
	}
	services := parseComposeYAML(stdout).child("services")
	for _, name := range []string{"kafka", "keeper", "clickhouse-1", "clickhouse-2", "migrate", "livepulse"} {
		if services.child(name) == nil {
			t.Fatalf("service %s missing; have %v", name, services.keys())
		}
	}
	for _, svc := range []string{"migrate", "livepulse"} {
		if cmd := strings.Join(services.child(svc).child("command").itemList(), " "); !strings.Contains(cmd, "--clickhouse-cluster=livepulse") {
			t.Errorf("%s command %q lacks --clickhouse-cluster=livepulse", svc, cmd)
		}
		if dsn := services.child(svc).child("environment").child("LIVEPULSE_CLICKHOUSE").text(); !strings.Contains(dsn, "clickhouse-1:9000,clickhouse-2:9000") {
			t.Errorf("%s DSN %q does not name both nodes", svc, dsn)
		}
	}

	// The mounted XML: well-formed, one cluster "livepulse" of two shards on the two nodes,
	// Keeper at the keeper service, and per node a distinct {shard} and {replica}.
	type replica struct {
		Host string `xml:"host"`
	}
	type shard struct {
		InternalReplication bool      `xml:"internal_replication"`
		Replicas            []replica `xml:"replica"`
	}
	var cluster struct {
		Shards []shard `xml:"remote_servers>livepulse>shard"`
		Keeper string  `xml:"zookeeper>node>host"`
	}
	readXML(t, "deploy/clickhouse-cluster/cluster.xml", &cluster)
	if len(cluster.Shards) != 2 || cluster.Keeper != "keeper" {
		t.Fatalf("cluster.xml: %d shards, keeper %q; want 2 shards and keeper", len(cluster.Shards), cluster.Keeper)
	}
	for i, s := range cluster.Shards {
		if !s.InternalReplication || len(s.Replicas) != 1 || s.Replicas[0].Host != "clickhouse-"+string(rune('1'+i)) {
			t.Errorf("shard %d: %+v, want clickhouse-%d with internal_replication", i+1, s, i+1)
		}
	}
	seen := map[string]bool{}
	for _, n := range []string{"1", "2"} {
		var m struct {
			Shard   string `xml:"macros>shard"`
			Replica string `xml:"macros>replica"`
		}
		readXML(t, "deploy/clickhouse-cluster/macros-"+n+".xml", &m)
		if m.Shard != n || m.Replica == "" || seen[m.Replica] {
			t.Errorf("macros-%s.xml: shard %q replica %q; want shard %s and a replica name of its own", n, m.Shard, m.Replica, n)
		}
		seen[m.Replica] = true
	}
	var keeper struct {
		Port string `xml:"keeper_server>tcp_port"`
	}
	readXML(t, "deploy/clickhouse-cluster/keeper.xml", &keeper)
	if keeper.Port != "9181" {
		t.Errorf("keeper listens on %q, cluster.xml expects 9181", keeper.Port)
	}
}

func readXML(t *testing.T, rel string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(composeRepoRoot, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}
