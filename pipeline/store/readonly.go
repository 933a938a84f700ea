package store

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// readOnlyChecker is implemented by backends that can tell read-only SQL apart.
type readOnlyChecker interface {
	ReadOnly(sql string) (bool, error)
}

// externalTableFunction matches table functions that reach files, URLs or other servers: a
// read-only SELECT can still use them to read what it must not.
var externalTableFunction = regexp.MustCompile(`(?is)\b(file|url|urlCluster|remote|remoteSecure|cluster|clusterAllReplicas|s3|s3Cluster|gcs|azureBlobStorage|azureBlobStorageCluster|hdfs|hdfsCluster|mysql|postgresql|mongodb|redis|sqlite|jdbc|odbc|executable|input|iceberg\w*|deltaLake\w*|hudi\w*|fileCluster|arrowFlight|ytsaurus|paimon\w*|dictionary)(\s|/\*.*?\*/|--[^\n]*\n|#[^\n]*\n)*\(`)

// intoOutfile matches a result redirected to a file (the engine classifies it as Control, but
// the server backend's lexical check would not see it).
var intoOutfile = regexp.MustCompile(`(?is)\bINTO\s+OUTFILE\b`)

// QueryReadOnly runs sql for a user (POST /api/query, `livepulse query`): one statement that
// changes nothing and reaches nothing outside the database, else ErrReadOnly; it runs under the
// store's QueryLimits (time, rows, bytes), enforced by ClickHouse in readonly mode.
func (s *Store) QueryReadOnly(ctx context.Context, sql, format string) ([]byte, error) {
	if err := CheckReadOnly(s.b, sql); err != nil {
		return nil, err
	}
	return s.queryBounded(ctx, sql, format)
}

// CheckReadOnly returns a wrapped ErrReadOnly unless sql is a single read-only statement.
func CheckReadOnly(b Backend, sql string) error {
	ok := lexicallyReadOnly(sql)
	if c, isChecker := b.(readOnlyChecker); ok && isChecker {
		var err error
		if ok, err = c.ReadOnly(sql); err != nil {
			return fmt.Errorf("%w: %v", ErrReadOnly, err)
		}
	}
	if !ok {
		return fmt.Errorf("%w: %.80q is not a single SELECT, SHOW, DESCRIBE, EXPLAIN or EXISTS statement", ErrReadOnly, sql)
	}
	if m := externalTableFunction.FindStringSubmatch(sql); m != nil {
		return fmt.Errorf("%w: table function %s reaches outside the database", ErrReadOnly, m[1])
	}
	if intoOutfile.MatchString(sql) {
		return fmt.Errorf("%w: INTO OUTFILE writes a file", ErrReadOnly)
	}
	return nil
}

var readOnlyStart = regexp.MustCompile(`(?is)^\s*(\(\s*)*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|EXISTS)\b`)

// lexicallyReadOnly is a conservative first gate: it accepts only statements that start with a
// read-only keyword and contain no statement separator outside a trailing one.
func lexicallyReadOnly(sql string) bool {
	trimmed := strings.TrimRight(strings.TrimSpace(sql), ";")
	if strings.Contains(trimmed, ";") {
		return false
	}
	return readOnlyStart.MatchString(trimmed)
}
