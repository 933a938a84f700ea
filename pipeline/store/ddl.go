package store

import (
	"fmt"
	"strings"

	"github.com/livepulse/livepulse/schemas"
)

// createTableSQL returns the CREATE TABLE statement of t.
//
// Rows are partitioned by the day of their ingest time, not of their event time: every INSERT
// livepulse issues then lands in exactly one partition and so in one part, which ClickHouse
// writes atomically. That atomicity is what effectively-once delivery rests on (see Store.Resume).
// Event-time queries are served by the sort key (stream_id, ts) and a min-max index on ts.
func createTableSQL(t *schemas.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s\n(\n", t.Name)
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "    %s %s", c.Name, c.Type.ClickHouse())
		if c.Doc != "" {
			fmt.Fprintf(&b, " COMMENT %s", quote(c.Doc))
		}
		b.WriteString(",\n")
	}
	switch {
	case t == schemas.StreamMetrics1m:
		// Re-emitted rows replace earlier ones (the highest version wins), so a corrected minute
		// is never added twice; readers use FINAL.
		b.WriteString("    INDEX kol_bf kol_id TYPE bloom_filter GRANULARITY 4\n")
		b.WriteString(")\nENGINE = ReplacingMergeTree(version)\nPARTITION BY toYYYYMM(minute)\nORDER BY (stream_id, minute, kafka_partition)\n")
	case t == schemas.AnomalyFlags:
		b.WriteString("    INDEX stream_bf stream_id TYPE bloom_filter GRANULARITY 4\n")
		b.WriteString(")\nENGINE = ReplacingMergeTree(version)\nORDER BY flag_id\n")
	case t.Kind == 0:
		b.WriteString("    INDEX ingest_minmax ingest_time TYPE minmax GRANULARITY 1\n")
		b.WriteString(")\nENGINE = MergeTree\nPARTITION BY toDate(ingest_time)\nORDER BY (kafka_topic, kafka_partition, kafka_offset)\n")
	default:
		b.WriteString("    INDEX ts_minmax ts TYPE minmax GRANULARITY 1,\n")
		if t == schemas.Orders || t == schemas.Refunds {
			// Refunds are attributed to their order's stream, looked up by order_id.
			b.WriteString("    INDEX order_bf order_id TYPE bloom_filter GRANULARITY 4,\n")
		}
		b.WriteString("    INDEX kol_bf kol_id TYPE bloom_filter GRANULARITY 4\n")
		b.WriteString(")\nENGINE = MergeTree\nPARTITION BY toDate(ingest_time)\nORDER BY (stream_id, ts)\n")
		b.WriteString("SETTINGS " + compactEventParts + "\n")
	}
	return b.String()
}

// compactEventParts keeps the parts the consumer's INSERTs write to the event tables (InsertRows
// rows, tens of MB) Compact: a handful of files instead of two per column and index. Creating
// those files was most of the INSERTs' CPU in a backlog drain (ext4 inode allocation; the
// engine's own work was less). Merged parts beyond 256 MiB become Wide, as ClickHouse prefers for
// large parts.
const compactEventParts = "min_bytes_for_wide_part = 268435456"

// quote returns s as a ClickHouse string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

// migration is one schema version: statements that must be idempotent (IF NOT EXISTS), because
// several instances may migrate at once and a crash may interrupt a migration half-way.
type migration struct {
	version    int
	name       string
	statements []string
}

func migrations() []migration {
	v1 := migration{version: 1, name: "raw event tables and dead letters"}
	for _, t := range []*schemas.Table{schemas.ViewerEvents, schemas.Orders, schemas.Refunds, schemas.DeadLetters} {
		v1.statements = append(v1.statements, createTableSQL(t))
	}
	// v1's statements create today's columns, so on a fresh store v2 only finds them there.
	v2 := migration{version: 2, name: "late flag, lookup indexes, stream_metrics_1m rollup"}
	for _, t := range []*schemas.Table{schemas.ViewerEvents, schemas.Orders, schemas.Refunds} {
		v2.statements = append(v2.statements,
			"ALTER TABLE "+t.Name+" ADD COLUMN IF NOT EXISTS late UInt8 COMMENT "+quote(columnDoc(t, "late")),
			"ALTER TABLE "+t.Name+" ADD INDEX IF NOT EXISTS kol_bf kol_id TYPE bloom_filter GRANULARITY 4")
	}
	for _, t := range []*schemas.Table{schemas.Orders, schemas.Refunds} {
		v2.statements = append(v2.statements, "ALTER TABLE "+t.Name+" ADD INDEX IF NOT EXISTS order_bf order_id TYPE bloom_filter GRANULARITY 4")
	}
	v2.statements = append(v2.statements, createTableSQL(schemas.StreamMetrics1m), createRollupProgress)
	v3 := migration{version: 3, name: "anomaly_flags", statements: []string{createTableSQL(schemas.AnomalyFlags)}}
	v4 := migration{version: 4, name: "anomaly_flags.replay_id", statements: []string{
		"ALTER TABLE anomaly_flags ADD COLUMN IF NOT EXISTS replay_id String COMMENT " + quote(columnDoc(schemas.AnomalyFlags, "replay_id")) + " AFTER replayed"}}
	v5 := migration{version: 5, name: "event tables: compact parts up to 256 MiB"}
	for _, t := range []*schemas.Table{schemas.ViewerEvents, schemas.Orders, schemas.Refunds} {
		v5.statements = append(v5.statements, "ALTER TABLE "+t.Name+" MODIFY SETTING "+compactEventParts)
	}
	return []migration{v1, v2, v3, v4, v5}
}

// SchemaVersion is the version Migrate brings a store to.
func SchemaVersion() int {
	m := migrations()
	return m[len(m)-1].version
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY version`

func columnDoc(t *schemas.Table, name string) string {
	for _, c := range t.Columns {
		if c.Name == name {
			return c.Doc
		}
	}
	return ""
}

// rollup_progress records, per partition, the watermark up to which stream_metrics_1m rows are
// final and written, so a new owner of the partition knows where to resume emitting.
const createRollupProgress = `CREATE TABLE IF NOT EXISTS rollup_progress
(
    kafka_partition UInt32,
    watermark DateTime64(3, 'UTC') COMMENT 'rows of minutes ending AllowedLateness before it are final',
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY kafka_partition`
