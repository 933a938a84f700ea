package ingest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/schemas"
)

// recordingBackend records each INSERT's rows (their offsets); the first INSERT waits for release.
type recordingBackend struct {
	mu      sync.Mutex
	inserts [][]int64
	started chan struct{}
	release chan struct{}
}

func (b *recordingBackend) Name() string                                          { return "recording" }
func (b *recordingBackend) Exec(context.Context, string) error                    { return nil }
func (b *recordingBackend) Query(context.Context, string, string) ([]byte, error) { return nil, nil }
func (b *recordingBackend) Close() error                                          { return nil }

func (b *recordingBackend) Insert(_ context.Context, _ time.Time, chunks ...store.Rows) error {
	b.mu.Lock()
	first := len(b.inserts) == 0
	var offsets []int64
	for _, c := range chunks {
		for i := range c.Len() {
			offsets = append(offsets, c.Source(i).Offset)
		}
	}
	b.inserts = append(b.inserts, offsets)
	b.mu.Unlock()
	if first {
		close(b.started)
		<-b.release
	}
	return nil
}

// TestTableWriterGroupCommit: chunks queued while an INSERT runs join the next INSERT, in the
// order they were submitted, up to InsertRows; a full batch starts an INSERT at once.
func TestTableWriterGroupCommit(t *testing.T) {
	b := &recordingBackend{started: make(chan struct{}), release: make(chan struct{})}
	cfg := Config{Brokers: []string{"unused"}, BatchRows: 10, InsertRows: 25, FlushInterval: time.Hour}.withDefaults()
	w := newTableWriter(schemas.ViewerEvents, store.New(b, nil), cfg)
	ctx := context.Background()
	go w.run(ctx)

	next := int64(0)
	submit := func(rows int) *chunk {
		r := make(store.ViewerRows, rows)
		for i := range r {
			r[i].Src = store.Source{Topic: "t", Offset: next}
			next++
		}
		c := newChunk(r, nil)
		if err := w.submit(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	var chunks []*chunk
	chunks = append(chunks, submit(10)) // a full batch: inserted at once, alone
	<-b.started
	for _, rows := range []int{5, 10, 5, 10, 3} { // queued meanwhile
		chunks = append(chunks, submit(rows))
	}
	close(b.release)
	close(w.in)
	<-w.exited
	for i, c := range chunks {
		if err := <-c.done; err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	// The second INSERT takes chunks until it holds InsertRows (5 + 10 + 5 + 10 = 30 ≥ 25), the
	// third the rest.
	want := [][]int64{seq(0, 10), seq(10, 40), seq(40, 43)}
	if !slices.EqualFunc(b.inserts, want, slices.Equal) {
		t.Fatalf("inserts %v, want %v", b.inserts, want)
	}
}

func seq(from, to int64) []int64 {
	var s []int64
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}
