package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/livepulse/livepulse/pipeline/store/chdb"
)

// Embedded is the default backend: ClickHouse running inside the process (chDB).
type Embedded struct {
	e      *chdb.Engine
	bufs   sync.Pool // *[]byte RowBinary buffers, reused across inserts
	native sync.Pool // *nativeEncoder, reused across inserts
}

// OpenEmbedded starts the embedded engine.
func OpenEmbedded(cfg chdb.Config) (*Embedded, error) {
	e, err := chdb.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot open the embedded ClickHouse: %w", err)
	}
	return &Embedded{e: e}, nil
}

// Engine returns the underlying engine.
func (b *Embedded) Engine() *chdb.Engine { return b.e }

func (b *Embedded) Name() string { return "embedded chDB " + b.e.Version() }

func (b *Embedded) Exec(ctx context.Context, sql string) error {
	_, err := b.e.Query(ctx, sql, "TabSeparated")
	return err
}

func (b *Embedded) Query(ctx context.Context, sql, format string) ([]byte, error) {
	if format == "" {
		format = "TabSeparated"
	}
	return b.e.Query(ctx, sql, format)
}

// Insert sends every chunk as one block through the engine's insert stream (query text cannot
// carry binary data): in the Native format when every chunk supports it (the event tables and
// dead letters), else in RowBinary.
func (b *Embedded) Insert(ctx context.Context, ingest time.Time, chunks ...Rows) error {
	if len(chunks) == 0 {
		return nil
	}
	t := chunks[0].Table()
	insert := "INSERT INTO " + t.Name + " (" + strings.Join(t.ColumnNames(), ", ") + ")"
	if native, ok := nativeChunks(chunks); ok {
		enc, _ := b.native.Get().(*nativeEncoder)
		if enc == nil {
			enc = new(nativeEncoder)
		}
		defer b.native.Put(enc)
		return b.e.Insert(ctx, insert, "Native", enc.encode(native, ingest.UnixMilli())...)
	}
	bp, _ := b.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf := (*bp)[:0]
	ms := ingest.UnixMilli()
	for _, c := range chunks {
		buf = c.AppendRowBinary(buf, ms)
	}
	err := b.e.Insert(ctx, insert, "RowBinary", buf)
	*bp = buf
	b.bufs.Put(bp)
	return err
}

func nativeChunks(chunks []Rows) ([]NativeRows, bool) {
	native := make([]NativeRows, len(chunks))
	for i, c := range chunks {
		n, ok := c.(NativeRows)
		if !ok {
			return nil, false
		}
		native[i] = n
	}
	return native, true
}

// ReadOnly reports whether sql is a single statement that changes nothing, as the engine's own
// parser classifies it.
func (b *Embedded) ReadOnly(sql string) (bool, error) {
	a, err := b.e.Classify(sql)
	if err != nil {
		return false, err
	}
	return a.Class == chdb.ReadOnly && a.Statements == 1, nil
}

func (b *Embedded) Close() error { return b.e.Close() }
