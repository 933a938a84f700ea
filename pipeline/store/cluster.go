package store

import (
	"fmt"
	"regexp"
	"strings"
)

// Cluster DDL: the same migrations, for a ClickHouse cluster (`--clickhouse-cluster NAME`).
//
// Every table T becomes T_local, created ON CLUSTER with the Replicated variant of its engine
// (replicas of a shard share /clickhouse/tables/{shard}/{database}/{table} in Keeper), and T, a
// Distributed table over T_local with the name every query already uses. schema_migrations is
// replicated to every node instead (one Keeper path for all shards), so any node knows the version.
//
// Sharding keys keep the effectively-once rules true on a cluster:
//   - raw tables, stream_metrics_1m and rollup_progress shard by kafka_partition: all rows of a
//     Kafka partition live on one shard, so the part an INSERT writes there holds all of that
//     partition's rows of the INSERT, all or nothing — the table still holds a prefix of every
//     partition's rows (Store.Resume), and every version of a rollup row meets the others on one
//     shard, where ReplacingMergeTree and FINAL can replace it;
//   - anomaly_flags shards by cityHash64(flag_id), for the same reason.
//
// Writers must insert synchronously (distributed_foreground_insert = 1, ClusterInsertSettings):
// an asynchronous Distributed insert returns before the shards hold the rows, and the offsets
// would be committed too early. Replicated tables deduplicate a retried INSERT's blocks
// (insert_deduplicate, on by default), which stays in force through the Distributed table.

// ClusterInsertSettings are the settings writers on a cluster must use.
var ClusterInsertSettings = map[string]any{"distributed_foreground_insert": 1, "insert_deduplicate": 1}

var (
	createTableRe = regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS (\w+)\n(\(.*\))\nENGINE = (\w+)(?:\(([^)]*)\))?\n?(.*)$`)
	alterTableRe  = regexp.MustCompile(`(?s)^ALTER TABLE (\w+) (ADD (COLUMN|INDEX) .*|MODIFY SETTING .*)$`)
)

// shardingKey is the Distributed sharding expression of each table (see above).
func shardingKey(table string) string {
	if table == "anomaly_flags" {
		return "cityHash64(flag_id)"
	}
	return "kafka_partition"
}

// onCluster rewrites one migration statement for cluster; a statement it does not know is an
// error, so a new kind of migration cannot silently skip the cluster.
func onCluster(stmt, cluster string) ([]string, error) {
	if m := createTableRe.FindStringSubmatch(stmt); m != nil {
		name, columns, engine, args, rest := m[1], m[2], m[3], m[4], strings.TrimSpace(m[5])
		if name == "schema_migrations" {
			return []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s ON CLUSTER %s\n%s\nENGINE = %s\n%s",
				name, cluster, columns, replicated(engine, "/clickhouse/tables/all/{database}/{table}", args), rest)}, nil
		}
		local := name + "_local"
		return []string{
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s ON CLUSTER %s\n%s\nENGINE = %s\n%s",
				local, cluster, columns, replicated(engine, "/clickhouse/tables/{shard}/{database}/{table}", args), rest),
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s ON CLUSTER %s\n%s\nENGINE = Distributed(%s, currentDatabase(), %s, %s)",
				name, cluster, withoutIndexes(columns), quote(cluster), local, shardingKey(name)),
		}, nil
	}
	if m := alterTableRe.FindStringSubmatch(stmt); m != nil {
		name, change, what := m[1], m[2], m[3]
		out := []string{fmt.Sprintf("ALTER TABLE %s_local ON CLUSTER %s %s", name, cluster, change)}
		if what == "COLUMN" { // the Distributed table needs the column too; indexes and settings live in the shards
			out = append(out, fmt.Sprintf("ALTER TABLE %s ON CLUSTER %s %s", name, cluster, change))
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot rewrite for a cluster: %.60q", stmt)
}

// withoutIndexes drops the data-skipping indexes from a column list: they belong to the shards'
// tables, not to the Distributed one (which stores nothing).
func withoutIndexes(columns string) string {
	var keep []string
	for _, l := range strings.Split(columns, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "INDEX ") {
			keep = append(keep, l)
		}
	}
	out := strings.Join(keep, "\n")
	return trailingComma.ReplaceAllString(out, "\n)")
}

var trailingComma = regexp.MustCompile(`,\s*\n\)$`)

func replicated(engine, path, args string) string {
	a := quote(path) + ", '{replica}'"
	if args != "" {
		a += ", " + args
	}
	return "Replicated" + engine + "(" + a + ")"
}

var clusterName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// clusterMigrations returns migrations() and the migrations table, rewritten for cluster.
func clusterMigrations(cluster string) (table string, ms []migration, err error) {
	if !clusterName.MatchString(cluster) {
		return "", nil, fmt.Errorf("cluster name %q: want letters, digits and _", cluster)
	}
	t, err := onCluster(createMigrationsTable, cluster)
	if err != nil {
		return "", nil, err
	}
	for _, m := range migrations() {
		cm := migration{version: m.version, name: m.name}
		for _, s := range m.statements {
			out, err := onCluster(s, cluster)
			if err != nil {
				return "", nil, fmt.Errorf("migration %d: %w", m.version, err)
			}
			cm.statements = append(cm.statements, out...)
		}
		ms = append(ms, cm)
	}
	return t[0], ms, nil
}

// ClusterDDL returns every statement Migrate runs on cluster, in order (for review and tests).
func ClusterDDL(cluster string) ([]string, error) {
	t, ms, err := clusterMigrations(cluster)
	if err != nil {
		return nil, err
	}
	out := []string{t}
	for _, m := range ms {
		out = append(out, m.statements...)
	}
	return out, nil
}
