package store

import (
	"context"
	"errors"
	"time"
)

// Backend is one ClickHouse: the embedded engine (chDB) or a server reached with clickhouse-go.
// Both run the same DDL and the same SQL.
type Backend interface {
	// Name says which backend this is, for logs and /readyz.
	Name() string
	// Exec runs a statement that returns nothing (DDL).
	Exec(ctx context.Context, sql string) error
	// Query runs a statement and returns its whole output in a ClickHouse output format
	// ("" = TabSeparated).
	Query(ctx context.Context, sql, format string) ([]byte, error)
	// Insert writes the rows of one table in a single INSERT, so that they land together or not
	// at all. All chunks must be for the same table.
	Insert(ctx context.Context, ingest time.Time, chunks ...Rows) error
	Close() error
}

// ErrReadOnly is returned for SQL that would change something, through a read-only path.
var ErrReadOnly = errors.New("only read-only queries are allowed")
