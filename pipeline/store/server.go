package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"
)

// Server is a ClickHouse server reached with clickhouse-go over the native protocol, or over
// HTTP for an http(s):// DSN.
type Server struct {
	conn driver.Conn
	addr string
	http *httpQuerier // set for an http(s):// DSN: Query asks the server for formatted output
	// insertSettings apply to every Insert (ClusterInsertSettings on a cluster); nil = none.
	insertSettings clickhouse.Settings
}

// SetInsertSettings makes every Insert run with settings, e.g. ClusterInsertSettings.
func (s *Server) SetInsertSettings(settings map[string]any) { s.insertSettings = settings }

// OpenServer connects to dsn, e.g. clickhouse://user:pass@host:9000/db?dial_timeout=5s, or
// http://user:pass@host:8123/default (ClickHouse's HTTP interface, e.g. `livepulse store`).
func OpenServer(ctx context.Context, dsn string) (*Server, error) {
	return OpenServerSecure(ctx, dsn, ServerSecurity{})
}

// redactDSNError keeps a password in the DSN out of error messages.
func redactDSNError(err error, dsn string) error {
	msg := err.Error()
	if i := strings.Index(dsn, "@"); i > 0 {
		msg = strings.ReplaceAll(msg, dsn[:i], "<credentials>")
	}
	return fmt.Errorf("%s", msg)
}

func (s *Server) Name() string {
	if s.http != nil {
		return "ClickHouse server (HTTP) " + s.addr
	}
	return "ClickHouse server " + s.addr
}

func (s *Server) Exec(ctx context.Context, sql string) error { return s.conn.Exec(ctx, sql) }

func (s *Server) Insert(ctx context.Context, ingest time.Time, chunks ...Rows) error {
	if len(chunks) == 0 {
		return nil
	}
	if s.insertSettings != nil {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(s.insertSettings))
	}
	t := chunks[0].Table()
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+t.Name+" ("+strings.Join(t.ColumnNames(), ", ")+")")
	if err != nil {
		return fmt.Errorf("cannot prepare insert into %s: %w", t.Name, err)
	}
	defer batch.Abort()
	ingest = ingest.UTC().Truncate(time.Millisecond)
	for _, c := range chunks {
		for i := 0; i < c.Len(); i++ {
			if err := batch.Append(c.Values(i, ingest)...); err != nil {
				return fmt.Errorf("cannot append row to %s: %w", t.Name, err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("cannot insert into %s: %w", t.Name, err)
	}
	return nil
}

// Query renders the result itself: the native protocol carries blocks, not formatted text.
// Supported: TabSeparated (TSV), TabSeparatedWithNames, CSV, CSVWithNames, JSONEachRow.
func (s *Server) Query(ctx context.Context, sql, format string) ([]byte, error) {
	if s.http != nil {
		return s.http.query(ctx, sql, format, nil)
	}
	w, ok := rowWriters[strings.ToLower(format)]
	if !ok {
		return nil, fmt.Errorf("format %q is not supported by the ClickHouse-server backend (use TabSeparated, TabSeparatedWithNames, CSV, CSVWithNames or JSONEachRow)", format)
	}
	rows, err := s.conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := rows.Columns()
	types := rows.ColumnTypes()
	dest := make([]any, len(types))
	for i, ct := range types {
		dest[i] = reflect.New(ct.ScanType()).Interface()
	}
	var out bytes.Buffer
	w.header(&out, names)
	vals := make([]any, len(dest))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("cannot scan row: %w", err)
		}
		for i, d := range dest {
			vals[i] = reflect.ValueOf(d).Elem().Interface()
		}
		w.row(&out, names, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// ReadOnly: the server backend has no parser at hand; a conservative keyword check, with the
// server's own readonly setting applied by the caller as the real guard.
func (s *Server) ReadOnly(sql string) (bool, error) { return lexicallyReadOnly(sql), nil }

func (s *Server) Close() error { return s.conn.Close() }

type rowWriter struct {
	header func(b *bytes.Buffer, names []string)
	row    func(b *bytes.Buffer, names []string, vals []any)
}

var rowWriters = map[string]rowWriter{
	"":                      {header: noHeader, row: tsvRow},
	"tabseparated":          {header: noHeader, row: tsvRow},
	"tsv":                   {header: noHeader, row: tsvRow},
	"tabseparatedwithnames": {header: tsvHeader, row: tsvRow},
	"tsvwithnames":          {header: tsvHeader, row: tsvRow},
	"csv":                   {header: noHeader, row: csvRow},
	"csvwithnames":          {header: csvHeader, row: csvRow},
	"jsoneachrow":           {header: noHeader, row: jsonRow},
}

func noHeader(*bytes.Buffer, []string) {}

func tsvHeader(b *bytes.Buffer, names []string) {
	vals := make([]any, len(names))
	for i, n := range names {
		vals[i] = n
	}
	tsvRow(b, names, vals)
}

func csvHeader(b *bytes.Buffer, names []string) {
	vals := make([]any, len(names))
	for i, n := range names {
		vals[i] = n
	}
	csvRow(b, names, vals)
}

var tsvEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`)

func tsvRow(b *bytes.Buffer, _ []string, vals []any) {
	for i, v := range vals {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(tsvEscaper.Replace(textValue(v)))
	}
	b.WriteByte('\n')
}

func csvRow(b *bytes.Buffer, _ []string, vals []any) {
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		switch v.(type) {
		case string, time.Time:
			b.WriteString(`"` + strings.ReplaceAll(textValue(v), `"`, `""`) + `"`)
		default:
			b.WriteString(textValue(v))
		}
	}
	b.WriteByte('\n')
}

func jsonRow(b *bytes.Buffer, names []string, vals []any) {
	b.WriteByte('{')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(names[i])
		b.Write(k)
		b.WriteByte(':')
		switch v.(type) {
		case string, time.Time, decimal.Decimal, int64, uint64:
			// ClickHouse quotes 64-bit integers and decimals in JSON by default.
			s, _ := json.Marshal(textValue(v))
			b.Write(s)
		default:
			s, err := json.Marshal(v)
			if err != nil {
				s, _ = json.Marshal(textValue(v))
			}
			b.Write(s)
		}
	}
	b.WriteString("}\n")
}

// textValue renders a value the way ClickHouse's text formats do.
func textValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		if x.Nanosecond() == 0 {
			return x.UTC().Format("2006-01-02 15:04:05")
		}
		return x.UTC().Format("2006-01-02 15:04:05.000")
	case decimal.Decimal:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case nil:
		return `\N`
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return `\N`
		}
		return textValue(rv.Elem().Interface())
	}
	return fmt.Sprint(v)
}
