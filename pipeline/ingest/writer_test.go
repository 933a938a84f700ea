package ingest

import (
	"context"
	"errors"
	"fmt"
	"maps"
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

// TestTableWriterGroupCommit: a table's writer inserts once InsertRows rows wait, and chunks
// queued while an INSERT runs join the next one, in the order they were submitted, up to
// InsertRows.
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
	chunks = append(chunks, submit(10), submit(15)) // 25 rows: inserted at once
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
	// third the rest when the input closes.
	want := [][]int64{seq(0, 25), seq(25, 55), seq(55, 58)}
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

// lostAckBackend stores every INSERT, but reports the first as failed (its acknowledgement lost)
// and fails the first queries after it (the server still down).
type lostAckBackend struct {
	mu          sync.Mutex
	inserts     int
	offsets     map[int64]int // offset → times stored
	failQueries int
}

func (b *lostAckBackend) Name() string                       { return "lost-ack" }
func (b *lostAckBackend) Exec(context.Context, string) error { return nil }
func (b *lostAckBackend) Close() error                       { return nil }

func (b *lostAckBackend) Insert(_ context.Context, _ time.Time, chunks ...store.Rows) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range chunks {
		for i := range c.Len() {
			b.offsets[c.Source(i).Offset]++
		}
	}
	b.inserts++
	if b.inserts == 1 {
		return errors.New("connection reset by peer")
	}
	return nil
}

// Query answers Store.Resume: partition 0's highest stored offset.
func (b *lostAckBackend) Query(context.Context, string, string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failQueries > 0 {
		b.failQueries--
		return nil, errors.New("connection refused")
	}
	if len(b.offsets) == 0 {
		return nil, nil
	}
	return fmt.Appendf(nil, "0\t%d\n", slices.Max(slices.Collect(maps.Keys(b.offsets)))), nil
}

// TestTableWriterLostAck: an INSERT that failed after it was stored is not repeated, even when
// the store cannot say so at first.
func TestTableWriterLostAck(t *testing.T) {
	b := &lostAckBackend{offsets: make(map[int64]int), failQueries: 3}
	cfg := Config{Brokers: []string{"unused"}, RetryBackoff: time.Millisecond}.withDefaults()
	w := newTableWriter(schemas.Orders, store.New(b, nil), cfg)
	go w.run(context.Background())
	rows := make(store.OrderRows, 100)
	for i := range rows {
		rows[i].Src = store.Source{Topic: "t", Offset: int64(i)}
	}
	c := newChunk(rows, nil)
	if err := w.submit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	close(w.in)
	<-w.exited
	if err := <-c.done; err != nil {
		t.Fatal(err)
	}
	if b.inserts != 1 || len(b.offsets) != 100 {
		t.Fatalf("%d inserts, %d offsets stored; want 1 and 100", b.inserts, len(b.offsets))
	}
	for o, n := range b.offsets {
		if n != 1 {
			t.Fatalf("offset %d stored %d times", o, n)
		}
	}
}

// timedBackend records when each INSERT came, and its rows.
type timedBackend struct {
	recordingBackend
	at []time.Time
}

func (b *timedBackend) Insert(ctx context.Context, ingest time.Time, chunks ...store.Rows) error {
	b.mu.Lock()
	b.at = append(b.at, time.Now())
	b.mu.Unlock()
	return b.recordingBackend.Insert(ctx, ingest, chunks...)
}

// TestTableWriterBacklogWaits: a batch from a backlog waits up to twice FlushInterval for others
// to join its INSERT, but one of live traffic joining it brings the INSERT forward to half of
// FlushInterval.
func TestTableWriterBacklogWaits(t *testing.T) {
	const flush = time.Second
	run := func(chunks ...*chunk) time.Duration {
		b := &timedBackend{recordingBackend: recordingBackend{started: make(chan struct{}), release: make(chan struct{})}}
		close(b.release)
		cfg := Config{Brokers: []string{"unused"}, BatchRows: 10, FlushInterval: flush}.withDefaults()
		w := newTableWriter(schemas.ViewerEvents, store.New(b, nil), cfg)
		go w.run(context.Background())
		start := time.Now()
		for _, c := range chunks {
			if err := w.submit(context.Background(), c); err != nil {
				t.Fatal(err)
			}
		}
		<-b.started
		close(w.in)
		<-w.exited
		if len(b.inserts) != 1 {
			t.Fatalf("%d inserts, want 1", len(b.inserts))
		}
		return b.at[0].Sub(start)
	}
	batch := func(backlog bool) *chunk {
		c := newChunk(make(store.ViewerRows, 10), nil)
		c.backlog = backlog
		return c
	}
	if d := run(batch(true)); d < 2*flush {
		t.Errorf("a backlog's batch alone was inserted after %v, want ≥ %v", d, 2*flush)
	}
	if d := run(batch(true), batch(false)); d < flush/2 || d >= 2*flush {
		t.Errorf("a backlog's and a live batch were inserted after %v, want in [%v, %v)", d, flush/2, 2*flush)
	}
}

// TestTableWriterPartitionStalled: a partition with InFlightBatches batches waiting stops reading,
// so its writer inserts them without waiting for more rows or for time.
func TestTableWriterPartitionStalled(t *testing.T) {
	b := &recordingBackend{started: make(chan struct{}), release: make(chan struct{})}
	close(b.release)
	cfg := Config{Brokers: []string{"unused"}, BatchRows: 10, InFlightBatches: 3, FlushInterval: time.Hour}.withDefaults()
	w := newTableWriter(schemas.ViewerEvents, store.New(b, nil), cfg)
	go w.run(context.Background())
	for i := range 3 {
		r := make(store.ViewerRows, 2)
		for j := range r {
			r[j].Src = store.Source{Topic: "t", Partition: 1, Offset: int64(2*i + j)}
		}
		if err := w.submit(context.Background(), newChunk(r, nil)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-b.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no insert while the partition waits for its batches")
	}
	close(w.in)
	<-w.exited
	if want := [][]int64{seq(0, 6)}; !slices.EqualFunc(b.inserts, want, slices.Equal) {
		t.Fatalf("inserts %v, want %v", b.inserts, want)
	}
}
