package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/schemas"
)

// ErrForeignData means stored rows claim Kafka offsets the partition does not have: the topic was
// recreated, or the data directory belongs to another Kafka cluster. Consuming would silently
// skip messages, so the consumer stops instead.
var ErrForeignData = errors.New("stored rows come from another incarnation of the topic")

// partitionConsumer reads one partition: fetch → decode → batch → insert → commit.
type partitionConsumer struct {
	c       *Consumer
	commits *groupCommitter
	topic   string
	kind    schemas.Kind
	part    int32
	table   *schemas.Table
	dec     *schemas.Decoder
	log     *slog.Logger
	revoked chan struct{} // closed when the partition moves to another consumer

	// This partition's series of Metrics.Consumed and Metrics.Lag, looked up once: per message,
	// the lookup by label values cost more than the rest of the bookkeeping.
	consumed prometheus.Counter
	lag      prometheus.Gauge

	// Highest offsets already stored (from before a restart or rebalance); -1 when none.
	storedData, storedDead int64
	// Deduplication by event_id (dedupe.go); nil when off.
	dedupe    *dedupeIndex
	deadAhead map[int64]bool // dead letters stored beyond storedData
	ctx       context.Context

	// The open batch.
	viewers store.ViewerRows
	orders  store.OrderRows
	refunds store.RefundRows
	dead    store.DeadLetters
	dlq     []kafka.Message
	first   int64 // first offset of the open batch, -1 when empty
	last    int64 // last offset of the open batch
	behind  bool  // at least BatchRows messages were waiting after the last one
	ev      schemas.Event
}

// sealedBatch is a closed batch on its way to ClickHouse and then to the commit.
type sealedBatch struct {
	last int64
	data *chunk // nil when the batch holds no valid rows to insert
	dead store.DeadLetters
	dlq  []kafka.Message
}

func (c *Consumer) consumePartition(genCtx context.Context, commits *groupCommitter, kind schemas.Kind, a kafka.PartitionAssignment) error {
	p := &partitionConsumer{
		c: c, commits: commits, kind: kind, topic: c.cfg.Topics[kind], part: int32(a.ID),
		table: schemas.TableFor(kind), dec: schemas.NewDecoder(c.cfg.Decoder),
		revoked: make(chan struct{}), first: -1, ctx: genCtx,
	}
	if c.cfg.DedupeMaxEvents > 0 {
		p.dedupe = newDedupeIndex(c.cfg.DedupeWindow, c.cfg.DedupeMaxEvents)
	}
	p.log = c.cfg.Logger.With("topic", p.topic, "partition", p.part)
	p.consumed = c.cfg.Metrics.Consumed.WithLabelValues(p.topic)
	p.lag = c.cfg.Metrics.Lag.WithLabelValues(p.topic, strconv.Itoa(int(p.part)))
	// The generation ends both on a rebalance and, once any partition returns, on shutdown; only
	// the first means someone else may now own the partition.
	go func() {
		select {
		case <-genCtx.Done():
			select {
			case <-c.stop:
			default:
				close(p.revoked)
			}
		case <-c.stop:
		}
	}()
	if err := p.loadStored(genCtx); err != nil {
		return err
	}
	p.loadDedupe(genCtx)
	if proc := c.cfg.Processor; proc != nil {
		if err := proc.Open(genCtx, p.topic, p.part); err != nil {
			return fmt.Errorf("cannot open %s/%d for processing: %w", p.topic, p.part, err)
		}
		defer proc.Close(p.topic, p.part)
	}
	return p.run(genCtx, a.Offset)
}

// loadStored reads how far each table already holds this partition, retrying while the store is
// unavailable.
func (p *partitionConsumer) loadStored(ctx context.Context) error {
	backoff := p.c.cfg.RetryBackoff
	for {
		data, err1 := p.c.st.Resume(ctx, p.table, p.topic)
		dead, err2 := p.c.st.Resume(ctx, schemas.DeadLetters, p.topic)
		if err := errors.Join(err1, err2); err == nil {
			p.storedData, p.storedDead = -1, -1
			if o, ok := data[p.part]; ok {
				p.storedData = o
			}
			if o, ok := dead[p.part]; ok {
				p.storedDead = o
			}
			return nil
		} else {
			p.log.Warn("cannot read stored offsets, will retry", "err", err)
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		case <-p.c.stop:
			return nil
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (p *partitionConsumer) run(genCtx context.Context, offset int64) error {
	cfg := &p.c.cfg
	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   cfg.Brokers,
		Topic:     p.topic,
		Partition: int(p.part),
		Dialer:    cfg.Dialer,
		MinBytes:  1,
		MaxBytes:  cfg.FetchMaxBytes,
		MaxWait:   100 * time.Millisecond,
	})
	defer reader.Close()
	if offset < 0 {
		offset = kafka.FirstOffset
	}
	if err := reader.SetOffset(offset); err != nil {
		return fmt.Errorf("cannot seek %s/%d to %d: %w", p.topic, p.part, offset, err)
	}
	if proc := cfg.Processor; proc != nil {
		backlog, err := p.hasBacklog(genCtx, offset)
		if err != nil {
			p.log.Warn("cannot tell whether the partition has a backlog; assuming it has", "err", err)
			backlog = true
		}
		proc.Reading(p.topic, p.part, backlog)
	}

	// Fetch ahead into a bounded channel: when processing stalls (store slow, batches in
	// flight at their bound), fetching stops too.
	fetchCtx, stopFetch := context.WithCancel(genCtx)
	defer stopFetch()
	msgs := make(chan kafka.Message, cfg.FetchBuffer)
	fetchErr := make(chan error, 1)
	go func() {
		defer close(msgs)
		for {
			m, err := reader.FetchMessage(fetchCtx)
			if err != nil {
				if fetchCtx.Err() == nil {
					fetchErr <- err
				}
				return
			}
			select {
			case msgs <- m:
			case <-fetchCtx.Done():
				return
			}
		}
	}()

	inFlight := make(chan *sealedBatch, cfg.InFlightBatches)
	committed := make(chan error, 1)
	go func() { committed <- p.commitLoop(inFlight) }()
	finish := func(err error) error {
		stopFetch()
		p.seal(inFlight)
		close(inFlight)
		return errors.Join(err, <-committed)
	}

	tick := time.NewTicker(cfg.FlushInterval / 2)
	defer tick.Stop()
	checked := false
	take := func(m kafka.Message, now time.Time) error {
		if !checked {
			if err := p.checkIncarnation(m); err != nil {
				return err
			}
			checked = true
		}
		p.add(m, now)
		if p.batchRows() >= cfg.BatchRows {
			p.seal(inFlight)
		}
		return nil
	}
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				select {
				case err := <-fetchErr:
					return finish(fmt.Errorf("cannot fetch from %s/%d: %w", p.topic, p.part, err))
				default:
					return finish(nil)
				}
			}
			// One clock read for the message and the burst after it (microseconds apart).
			now := cfg.Now()
			if err := take(m, now); err != nil {
				return finish(err)
			}
			// Take what else is waiting without the four-way select: locking the four channels
			// per message cost more than the channel receive itself. The other cases wait at most
			// a burst.
		burst:
			for range fetchBurst {
				select {
				case m, ok := <-msgs:
					if !ok {
						break burst // the select above sees the close
					}
					if err := take(m, now); err != nil {
						return finish(err)
					}
				default:
					break burst
				}
			}
		case <-tick.C:
			p.seal(inFlight)
		case <-p.c.stop:
			return finish(nil)
		case <-genCtx.Done():
			return finish(nil)
		}
	}
}

// fetchBurst is how many fetched messages the partition loop takes in a row before it looks at
// its ticker and stop signals again.
const fetchBurst = 256

// checkIncarnation refuses to skip offsets the partition has never had (see ErrForeignData).
func (p *partitionConsumer) checkIncarnation(m kafka.Message) error {
	stored := max(p.storedData, p.storedDead)
	if stored >= m.HighWaterMark {
		return fmt.Errorf("%w: %s/%d: rows up to offset %d are stored but the partition ends at %d; use a fresh data directory or the original Kafka cluster",
			ErrForeignData, p.topic, p.part, stored, m.HighWaterMark)
	}
	return nil
}

// add decodes m into the open batch, skipping what is already stored; now is the wall clock
// (Config.Now) read for it.
func (p *partitionConsumer) add(m kafka.Message, now time.Time) {
	cfg := &p.c.cfg
	p.consumed.Inc()
	p.lag.Set(float64(max(m.HighWaterMark-m.Offset-1, 0)))
	if p.first < 0 {
		p.first = m.Offset
	}
	p.last = m.Offset
	p.behind = m.HighWaterMark-m.Offset-1 >= int64(cfg.BatchRows)
	src := store.Source{Topic: p.topic, Partition: p.part, Offset: m.Offset}
	err := p.dec.Decode(p.kind, m.Value, now, &p.ev)
	var invalid *schemas.InvalidError
	if errors.As(err, &invalid) {
		cfg.Metrics.DeadLetters.WithLabelValues(p.topic, string(invalid.Reason)).Inc()
		if m.Offset <= p.storedDead {
			cfg.Metrics.AlreadyStored.WithLabelValues(schemas.DeadLetters.Name).Inc()
			return
		}
		p.dead = append(p.dead, store.DeadLetter{Src: src, Key: m.Key, Reason: invalid.Reason,
			Field: invalid.Field, Detail: invalid.Error(), Raw: m.Value})
		p.dlq = append(p.dlq, dlqMessage(m, invalid))
		return
	}
	proc := cfg.Processor
	if proc != nil {
		proc.Observe(p.topic, p.part, p.ev.Header().TS, m.Offset+1 < m.HighWaterMark, now)
	}
	var dup schemas.Reason
	if p.dedupe != nil {
		dup = p.dedupe.check(&p.ev, m.Offset)
	}
	if p.alreadyStored(m.Offset, dup) {
		// Stored before a restart; the processor rebuilt its state from the store.
		cfg.Metrics.AlreadyStored.WithLabelValues(p.table.Name).Inc()
		return
	}
	if dup != "" {
		p.addDuplicate(m, src, dup)
		return
	}
	late := false
	if proc != nil {
		late = proc.Process(src, &p.ev, now)
	}
	if late {
		cfg.Metrics.Late.WithLabelValues(p.topic).Inc()
	}
	switch p.kind {
	case schemas.KindViewer:
		p.viewers = append(p.viewers, store.ViewerRow{Src: src, Ev: p.ev.Viewer, Late: late})
	case schemas.KindOrder:
		p.orders = append(p.orders, store.OrderRow{Src: src, Ev: p.ev.Order, Late: late})
	case schemas.KindRefund:
		p.refunds = append(p.refunds, store.RefundRow{Src: src, Ev: p.ev.Refund, Late: late})
	}
}

func (p *partitionConsumer) batchRows() int {
	return len(p.viewers) + len(p.orders) + len(p.refunds) + len(p.dead)
}

// seal closes the open batch: its valid rows go to the table writer now, the rest travels with
// it to the commit loop. It blocks while InFlightBatches are pending (backpressure).
func (p *partitionConsumer) seal(inFlight chan<- *sealedBatch) {
	if p.first < 0 {
		return
	}
	b := &sealedBatch{last: p.last, dead: p.dead, dlq: p.dlq}
	// The next batch starts with room for twice as many rows as this one, up to BatchRows: in a
	// backlog batches fill up, and growing them by appends copied every row again and again.
	room := func(n int) int { return min(2*n, p.c.cfg.BatchRows) }
	var rows store.Rows
	switch {
	case len(p.viewers) > 0:
		rows, p.viewers = p.viewers, make(store.ViewerRows, 0, room(len(p.viewers)))
	case len(p.orders) > 0:
		rows, p.orders = p.orders, make(store.OrderRows, 0, room(len(p.orders)))
	case len(p.refunds) > 0:
		rows, p.refunds = p.refunds, make(store.RefundRows, 0, room(len(p.refunds)))
	}
	if rows != nil {
		b.data = newChunk(rows, p.revoked)
		b.data.backlog = p.behind
		p.c.submit(p.table, b.data)
	}
	p.dead, p.dlq, p.first = nil, nil, -1
	inFlight <- b
}

// commitLoop waits for each sealed batch to be stored, in order, and commits its offsets.
func (p *partitionConsumer) commitLoop(inFlight <-chan *sealedBatch) error {
	var firstErr error
	for b := range inFlight {
		if firstErr != nil {
			continue // drain: once one batch failed, committing later ones would skip it
		}
		if len(b.dead) > 0 {
			// Dead letters go to the DLQ topic before ClickHouse: a crash in between repeats the
			// DLQ message (at-least-once, its headers identify it) rather than losing it.
			if err := p.c.produceDLQ(p.revoked, b.dlq); err != nil {
				firstErr = err
				continue
			}
			dc := newChunk(b.dead, p.revoked)
			p.c.submit(schemas.DeadLetters, dc)
			if err := <-dc.done; err != nil {
				firstErr = err
				continue
			}
		}
		if b.data != nil {
			if err := <-b.data.done; err != nil {
				firstErr = err
				continue
			}
		}
		p.commit(b.last + 1)
	}
	if errors.Is(firstErr, errRevoked) {
		return nil
	}
	if firstErr != nil {
		return fmt.Errorf("cannot store %s/%d: %w", p.topic, p.part, firstErr)
	}
	return nil
}

// commit commits next as the partition's position. A failed commit is logged, not fatal: the
// rows are stored, and a consumer that re-reads them skips them (Store.Resume).
func (p *partitionConsumer) commit(next int64) {
	m := p.c.cfg.Metrics
	err := p.commits.commit(p.topic, int(p.part), next)
	if err != nil {
		m.CommitErrors.Inc()
		p.log.Warn("cannot commit offset; stored rows will be skipped when re-read", "offset", next, "err", err)
		return
	}
	m.Commits.Inc()
}

// hasBacklog reports whether messages are waiting at or after offset (kafka.FirstOffset: the
// start of the log).
func (p *partitionConsumer) hasBacklog(ctx context.Context, offset int64) (bool, error) {
	client := &kafka.Client{Addr: kafka.TCP(p.c.cfg.Brokers...), Timeout: 10 * time.Second, Transport: transport(p.c.cfg.Dialer)}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		p.topic: {kafka.FirstOffsetOf(int(p.part)), kafka.LastOffsetOf(int(p.part))},
	}})
	if err != nil {
		return false, err
	}
	for _, po := range res.Topics[p.topic] {
		if po.Error != nil {
			return false, po.Error
		}
		if po.Partition == int(p.part) {
			return po.LastOffset > max(offset, po.FirstOffset), nil
		}
	}
	return false, fmt.Errorf("no offsets for %s/%d", p.topic, p.part)
}
