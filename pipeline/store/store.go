// Package store writes livepulse's rows into ClickHouse and reads them back. The same DDL and SQL
// run on two backends: the embedded engine (chDB, the default) and a ClickHouse server
// (clickhouse-go). See Resume for how delivery is made effectively-once.
package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

// Store is a migrated ClickHouse database behind a Backend.
type Store struct {
	b       Backend
	log     *slog.Logger
	cluster string      // "" = one server or the embedded engine; else Migrate creates the schema ON CLUSTER
	users   userQueries // users' read-only SQL, bounded (bounds.go)
}

// New wraps b. logger nil means silent.
func New(b Backend, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{b: b, log: logger}
}

// OnCluster makes Migrate create the schema on the ClickHouse cluster name: Replicated tables
// and Distributed ones over them (see cluster.go).
func (s *Store) OnCluster(name string) *Store {
	s.cluster = name
	return s
}

// Backend returns the backend the store writes to.
func (s *Store) Backend() Backend { return s.b }

// Close closes the backend.
func (s *Store) Close() error { return errors.Join(s.users.close(), s.b.Close()) }

// Migrate brings the schema to SchemaVersion, idempotently, and returns the version found before.
func (s *Store) Migrate(ctx context.Context) (from int, err error) {
	table, ms := createMigrationsTable, migrations()
	if s.cluster != "" {
		if table, ms, err = clusterMigrations(s.cluster); err != nil {
			return 0, err
		}
	}
	if err := s.b.Exec(ctx, table); err != nil {
		return 0, fmt.Errorf("cannot create schema_migrations: %w", err)
	}
	from, err = s.Version(ctx)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if m.version <= from {
			continue
		}
		for _, stmt := range m.statements {
			if err := s.b.Exec(ctx, stmt); err != nil {
				return from, fmt.Errorf("cannot apply migration %d (%s): %w", m.version, m.name, err)
			}
		}
		record := fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied_at) SELECT %d, %s, now64(3)", m.version, quote(m.name))
		if err := s.b.Exec(ctx, record); err != nil {
			return from, fmt.Errorf("cannot record migration %d: %w", m.version, err)
		}
		s.log.Info("schema migrated", "version", m.version, "name", m.name)
	}
	return from, nil
}

// Version returns the schema version the store is at (0 when never migrated).
func (s *Store) Version(ctx context.Context) (int, error) {
	out, err := s.b.Query(ctx, "SELECT max(version) FROM schema_migrations", "TabSeparated")
	if err != nil {
		return 0, fmt.Errorf("cannot read schema version: %w", err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return 0, fmt.Errorf("cannot parse schema version %q: %w", out, err)
	}
	return v, nil
}

// Insert writes chunks (all of one table) as one INSERT.
func (s *Store) Insert(ctx context.Context, ingest time.Time, chunks ...Rows) error {
	return s.b.Insert(ctx, ingest, chunks...)
}

// Resume returns, for each partition of topic, the highest Kafka offset stored in table
// (partitions with nothing stored are absent).
//
// This is the effectively-once anchor. Each INSERT is atomic (one part, see createTableSQL) and a
// partition's rows reach a table in offset order, so a table always holds a prefix of each
// partition's rows for it. After a crash, consumption restarts from the committed offset, which
// may be behind what is stored; rows at or below Resume's offset are already there and are
// skipped, the rest are inserted. Nothing is lost (offsets are committed only after the insert)
// and nothing is stored twice (the skip). It needs no deduplication window and works on any
// ClickHouse version.
func (s *Store) Resume(ctx context.Context, table *schemas.Table, topic string) (map[int32]int64, error) {
	q := fmt.Sprintf("SELECT kafka_partition, max(kafka_offset) FROM %s WHERE kafka_topic = %s GROUP BY kafka_partition",
		table.Name, quote(topic))
	out, err := s.b.Query(ctx, q, "TabSeparated")
	if err != nil {
		return nil, fmt.Errorf("cannot read stored offsets of %s in %s: %w", topic, table.Name, err)
	}
	res := make(map[int32]int64)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		p, o, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			return nil, fmt.Errorf("cannot parse stored offsets line %q", sc.Text())
		}
		pi, err1 := strconv.ParseInt(p, 10, 32)
		oi, err2 := strconv.ParseInt(o, 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("cannot parse stored offsets line %q", sc.Text())
		}
		res[int32(pi)] = oi
	}
	return res, nil
}
