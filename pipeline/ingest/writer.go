package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/schemas"
)

// errRevoked reports a chunk dropped before its insert because its partition moved to another
// consumer: the new owner reads those rows again, so inserting them here could duplicate them.
var errRevoked = errors.New("partition revoked before insert")

// chunk is one partition's contiguous rows for one table.
type chunk struct {
	rows    store.Rows
	revoked <-chan struct{} // closed when the partition moved away
	done    chan error      // receives the outcome once
	// backlog says the partition was at least BatchRows messages behind when the batch was
	// sealed: its events are late already.
	backlog bool
}

func newChunk(rows store.Rows, revoked <-chan struct{}) *chunk {
	return &chunk{rows: rows, revoked: revoked, done: make(chan error, 1)}
}

// tableWriter inserts the chunks of every partition bound for one table, merging what is queued
// into one INSERT (group commit): ClickHouse wants few large inserts, not one per partition (each
// INSERT writes a part, and small parts cost it CPU again when it merges them). An INSERT starts
// once maxInsertRows rows wait, or a partition has inFlight chunks waiting (it is about to stop
// reading until one is stored), or when a chunk has waited its bound: maxDelay, or backlogDelay
// if it comes from a backlog (waiting for the other partitions' batches then costs no latency
// that matters, and makes the INSERT larger). It takes along every chunk queued by then, up to
// maxInsertRows.
// Chunks are inserted in the order they arrive, so each partition's rows reach the table in
// offset order: the invariant Store.Resume relies on.
type tableWriter struct {
	table         *schemas.Table
	st            *store.Store
	in            chan *chunk
	maxInsertRows int
	inFlight      int
	maxDelay      time.Duration
	backlogDelay  time.Duration
	backoff       time.Duration
	m             *Metrics
	log           *slog.Logger
	now           func() time.Time
	exited        chan struct{}
}

func newTableWriter(t *schemas.Table, st *store.Store, cfg Config) *tableWriter {
	return &tableWriter{
		table: t, st: st,
		in:            make(chan *chunk, 64),
		maxInsertRows: cfg.InsertRows,
		inFlight:      cfg.InFlightBatches,
		maxDelay:      cfg.FlushInterval / 2,
		backlogDelay:  2 * cfg.FlushInterval,
		backoff:       cfg.RetryBackoff,
		m:             cfg.Metrics,
		log:           cfg.Logger.With("table", t.Name),
		now:           cfg.Now,
		exited:        make(chan struct{}),
	}
}

// submit queues c, blocking while the writer is full (backpressure).
func (w *tableWriter) submit(ctx context.Context, c *chunk) error {
	select {
	case w.in <- c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run inserts until in is closed and drained, or ctx ends (then queued chunks fail).
func (w *tableWriter) run(ctx context.Context) {
	defer close(w.exited)
	var pending []*chunk
	rows := 0
	closed := false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var flushAt time.Time
	type partition struct {
		topic string
		id    int32
	}
	waiting := make(map[partition]int) // pending chunks per partition
	stalled := false                   // a partition has inFlight chunks pending
	add := func(c *chunk) {
		src := c.rows.Source(0)
		p := partition{src.Topic, src.Partition}
		waiting[p]++
		stalled = stalled || waiting[p] >= w.inFlight
		delay := w.maxDelay
		if c.backlog {
			delay = w.backlogDelay
		}
		if at := time.Now().Add(delay); len(pending) == 0 || at.Before(flushAt) {
			flushAt = at
			timer.Reset(delay)
		}
		pending = append(pending, c)
		rows += c.rows.Len()
	}
	flush := func() {
		timer.Stop()
	queued:
		for rows < w.maxInsertRows && !closed {
			select {
			case c, ok := <-w.in:
				if !ok {
					closed = true
					break queued
				}
				add(c)
			default:
				break queued
			}
		}
		if len(pending) > 0 {
			w.insert(ctx, pending)
		}
		clear(pending)
		clear(waiting)
		pending, rows, stalled = pending[:0], 0, false
	}
	for {
		select {
		case c, ok := <-w.in:
			if ok {
				add(c)
			} else {
				closed = true
			}
			if closed || stalled || rows >= w.maxInsertRows {
				flush()
			}
		case <-timer.C:
			flush()
		case <-ctx.Done():
			for _, c := range pending {
				c.done <- ctx.Err()
			}
			return
		}
		if closed {
			return
		}
	}
}

// insert writes chunks as one INSERT, retrying until it lands or ctx ends.
func (w *tableWriter) insert(ctx context.Context, chunks []*chunk) {
	backoff := w.backoff
	var err error
	uncertain := false // the last attempt failed: it may have been committed all the same
	for attempt := 1; ; attempt++ {
		live := chunks[:0]
		for _, c := range chunks {
			select {
			case <-c.revoked:
				c.done <- errRevoked
			default:
				live = append(live, c)
			}
		}
		chunks = live
		if len(chunks) == 0 {
			return
		}
		rows := make([]store.Rows, len(chunks))
		n := 0
		for i, c := range chunks {
			rows[i] = c.rows
			n += c.rows.Len()
		}
		start := w.now()
		stored := false
		if uncertain {
			// An INSERT can fail after ClickHouse committed it (its acknowledgement lost, the
			// server dead just after the commit): it is repeated only once the store says it
			// holds none of it, else the retry would store its rows twice.
			var lerr error
			if stored, lerr = w.landed(ctx, chunks); lerr != nil {
				w.log.Warn("cannot tell whether a failed insert is stored, will ask again", "err", lerr)
			} else {
				uncertain = false
			}
			if stored {
				w.log.Warn("insert reported an error but its rows are stored", "err", err)
				err = nil
			}
		}
		if !uncertain && !stored {
			if err = w.st.Insert(ctx, start, rows...); err != nil {
				w.m.InsertErrors.WithLabelValues(w.table.Name).Inc()
				uncertain = true
			}
		}
		if err == nil {
			w.m.Stored.WithLabelValues(w.table.Name).Add(float64(n))
			w.m.BatchRows.WithLabelValues(w.table.Name).Observe(float64(n))
			w.m.InsertSeconds.WithLabelValues(w.table.Name).Observe(w.now().Sub(start).Seconds())
			for _, c := range chunks {
				c.done <- nil
			}
			return
		}
		w.log.Warn("cannot insert, will retry", "rows", n, "attempt", attempt, "retry_in", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			for _, c := range chunks {
				c.done <- fmt.Errorf("cannot insert into %s: %w", w.table.Name, err)
			}
			return
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// landed reports whether a failed INSERT is nevertheless stored. An INSERT is atomic, so its
// first chunk's last row tells for all.
func (w *tableWriter) landed(ctx context.Context, chunks []*chunk) (bool, error) {
	c := chunks[0]
	last := c.rows.Source(c.rows.Len() - 1)
	stored, err := w.st.Resume(ctx, w.table, last.Topic)
	if err != nil {
		return false, err
	}
	max, ok := stored[last.Partition]
	return ok && max >= last.Offset, nil
}
