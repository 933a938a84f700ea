package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/schemas"
)

// Dead-letter reasons the consumer adds to the decoder's: an event_id seen before in the same
// partition. Producers key events by stream_id, so a resend lands on the partition of the original.
const (
	// ReasonDuplicateEvent is a resend: same event_id, same content. Skipped (recorded in
	// dead_letters so every offset stays accounted for; not copied to the DLQ topic).
	ReasonDuplicateEvent schemas.Reason = "duplicate_event"
	// ReasonDuplicateEventID is a conflict: same event_id, different content. The first one is
	// kept; this one is a dead letter, in dead_letters and on the DLQ topic.
	ReasonDuplicateEventID schemas.Reason = "duplicate_event_id"
)

// idKey is a 128-bit hash of an event_id: two event_ids sharing one is astronomically unlikely
// (about n²/2¹²⁹ for n ids), and the index holds no string.
type idKey [2]uint64

// seenEvent is what the index keeps of an event it has stored.
type seenEvent struct {
	content uint64 // hash of the event's canonical encoding
	offset  int64  // where it was read: re-reading it is not a duplicate of itself
}

// remembered is one event in the index's ring.
type remembered struct {
	key idKey
	seenEvent
	ts int64
}

// dedupeIndex remembers the events of one partition stored most recently: at most max of them,
// and none older (in event time) than window before the newest. Eviction follows arrival order.
//
// The events sit in a ring, numbered in arrival order (seq); the live ones are seqs
// [first, next). A hash table of buckets, one cache line each, finds them: a bucket entry is a
// fingerprint of the event_id and its seq, and an entry whose seq is below first is free. So an
// eviction touches only the ring, and checking a new event reads one bucket: with a Go map keyed
// by id, the lookup and the eviction's delete were two cache misses per event into megabytes of
// map, about 9 % of a backlog drain's CPU.
type dedupeIndex struct {
	window      int64 // ms
	max         int
	ring        []remembered     // seq s at s % len(ring)
	first, next uint64           // live seqs; 0 is never used (an empty bucket entry)
	buckets     []bucket         // by idKey[0] & (len(buckets)-1)
	overflow    map[idKey]uint64 // entries of full buckets (rare), by key: seq
	newest      int64
	buf         []byte // scratch: an event's canonical encoding, hashed in one call
}

// bucket holds entries fingerprint<<seqBits | seq; 8 of them fill a 64-byte cache line.
type bucket [8]uint64

const (
	seqBits = 40 // a trillion events per partition assignment before seqs would wrap
	seqMask = 1<<seqBits - 1
	// eventsPerBucket sizes the table: 4 live entries per bucket of 8 on average, so that a full
	// bucket (an overflow entry) is rare.
	eventsPerBucket = 4
)

var (
	idSeed1, idSeed2, contentSeed = maphash.MakeSeed(), maphash.MakeSeed(), maphash.MakeSeed()
)

func newDedupeIndex(window time.Duration, max int) *dedupeIndex {
	return &dedupeIndex{window: window.Milliseconds(), max: max, first: 1, next: 1}
}

// keys hashes ev's event_id and its content: every field of the event, so a resend spelled
// differently (field order, whitespace, number form) is the same content.
func (d *dedupeIndex) keys(ev *schemas.Event) (idKey, uint64) {
	id := ev.Header().EventID
	b := append(d.buf[:0], byte(ev.Kind))
	hdr := ev.Header()
	str := func(s string) { b = append(append(b, s...), 0) }
	num := func(n uint64) { b = binary.LittleEndian.AppendUint64(b, n) }
	str(hdr.EventID)
	num(uint64(hdr.TS))
	str(hdr.StreamID)
	str(hdr.KOLID)
	str(hdr.BrandID)
	str(hdr.Platform)
	switch ev.Kind {
	case schemas.KindViewer:
		v := &ev.Viewer
		num(uint64(v.Action))
		str(v.ViewerID)
		str(v.SessionID)
		str(v.DeviceID)
		str(v.IP)
		num(uint64(v.Kind))
		num(v.ReportedViewers)
	case schemas.KindOrder:
		o := &ev.Order
		str(o.OrderID)
		str(o.BuyerID)
		str(o.SKUID)
		num(uint64(o.Quantity))
		num(uint64(o.Amount))
		str(o.Currency)
	case schemas.KindRefund:
		r := &ev.Refund
		str(r.RefundID)
		str(r.OrderID)
		str(r.BuyerID)
		num(uint64(r.Amount))
		str(r.Currency)
		str(r.Reason)
	}
	d.buf = b
	return idKey{maphash.String(idSeed1, id), maphash.String(idSeed2, id)}, maphash.Bytes(contentSeed, b)
}

// check classifies the valid event ev read at offset: "" when it is new (or is the stored event
// itself, re-read), else the duplicate reason. A new event is remembered.
func (d *dedupeIndex) check(ev *schemas.Event, offset int64) schemas.Reason {
	key, content := d.keys(ev)
	if s, ok := d.lookup(key); ok && s.offset != offset {
		if s.content == content {
			return ReasonDuplicateEvent
		}
		return ReasonDuplicateEventID
	} else if ok {
		return ""
	}
	d.remember(key, seenEvent{content: content, offset: offset}, ev.Header().TS)
	return ""
}

// lookup finds the live event remembered last with key.
func (d *dedupeIndex) lookup(key idKey) (seenEvent, bool) {
	if len(d.buckets) == 0 {
		return seenEvent{}, false
	}
	var found uint64
	fp := key[0] >> seqBits
	for _, e := range &d.buckets[key[0]&uint64(len(d.buckets)-1)] {
		if e>>seqBits != fp {
			continue
		}
		if s := e & seqMask; s >= d.first && s > found && d.ring[s%uint64(len(d.ring))].key == key {
			found = s
		}
	}
	if s, ok := d.overflow[key]; ok && s >= d.first && s > found {
		found = s
	}
	if found == 0 {
		return seenEvent{}, false
	}
	return d.ring[found%uint64(len(d.ring))].seenEvent, true
}

func (d *dedupeIndex) remember(key idKey, s seenEvent, ts int64) {
	d.newest = max(d.newest, ts)
	for d.next > d.first && (d.next-d.first >= uint64(d.max) || d.ring[d.first%uint64(len(d.ring))].ts < d.newest-d.window) {
		if len(d.overflow) > 0 {
			old := d.ring[d.first%uint64(len(d.ring))].key
			if o, ok := d.overflow[old]; ok && o == d.first {
				delete(d.overflow, old)
			}
		}
		d.first++ // its bucket entry is free from now on
	}
	if d.next-d.first == uint64(len(d.ring)) {
		d.grow()
	}
	seq := d.next
	d.next++
	d.ring[seq%uint64(len(d.ring))] = remembered{key: key, seenEvent: s, ts: ts}
	d.place(key, seq)
}

// grow doubles the ring, up to max, and resizes the table to it.
func (d *dedupeIndex) grow() {
	n := max(min(2*len(d.ring), d.max), min(d.max, 4096))
	ring := make([]remembered, n)
	for s := d.first; s < d.next; s++ {
		ring[s%uint64(n)] = d.ring[s%uint64(len(d.ring))]
	}
	d.ring = ring
	nb := 1
	for nb*eventsPerBucket < n {
		nb *= 2
	}
	d.buckets, d.overflow = make([]bucket, nb), nil
	for s := d.first; s < d.next; s++ {
		d.place(d.ring[s%uint64(n)].key, s)
	}
}

// place enters seq in key's bucket, in a free entry, else in the overflow map.
func (d *dedupeIndex) place(key idKey, seq uint64) {
	b := &d.buckets[key[0]&uint64(len(d.buckets)-1)]
	for i, e := range b {
		if e&seqMask < d.first {
			b[i] = key[0]>>seqBits<<seqBits | seq
			return
		}
	}
	if d.overflow == nil {
		d.overflow = make(map[idKey]uint64)
	}
	d.overflow[key] = seq
}

// loadDedupe prepares deduplication when the partition is assigned, retrying while the store is
// unavailable: it seeds the index and finds the dead letters stored beyond the data prefix.
func (p *partitionConsumer) loadDedupe(ctx context.Context) {
	if p.dedupe == nil {
		return
	}
	backoff := p.c.cfg.RetryBackoff
	for {
		err := p.seedDedupe(ctx)
		if err == nil {
			err = p.loadDeadAhead(ctx)
		}
		if err == nil {
			return
		}
		p.log.Warn("cannot prepare deduplication, will retry", "err", err)
		p.dedupe = newDedupeIndex(time.Duration(p.dedupe.window)*time.Millisecond, p.dedupe.max)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		case <-p.c.stop:
			return
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// seedDedupe fills the index with the partition's stored events of the last window (at most max,
// the most recent offsets), so that a resend is caught across restarts and rebalances.
func (p *partitionConsumer) seedDedupe(ctx context.Context) error {
	d := p.dedupe
	var cols []string
	for _, c := range p.table.Columns {
		switch {
		case c.Name == "ts":
			cols = append(cols, "toUnixTimestamp64Milli(ts) AS ts")
		case c.Contract:
			cols = append(cols, c.Name)
		}
	}
	// Filter in a subquery: the outer alias ts (Unix ms) would shadow the column in WHERE.
	q := fmt.Sprintf(`SELECT kafka_offset, %[1]s FROM (
  SELECT * FROM %[2]s WHERE kafka_topic = %[3]s AND kafka_partition = %[4]d
    AND ts >= (SELECT max(ts) FROM %[2]s WHERE kafka_topic = %[3]s AND kafka_partition = %[4]d) - toIntervalMillisecond(%[5]d)
  ORDER BY kafka_offset DESC LIMIT %[6]d)
ORDER BY kafka_offset
SETTINGS output_format_json_quote_64bit_integers = 0, output_format_json_quote_decimals = 1`,
		strings.Join(cols, ", "), p.table.Name, quoteSQL(p.topic), p.part, d.window, d.max)
	out, err := p.c.st.Backend().Query(ctx, q, "JSONEachRow")
	if err != nil {
		return fmt.Errorf("cannot read recent events of %s/%d for deduplication: %w", p.topic, p.part, err)
	}
	dec := schemas.NewDecoder(schemas.DecoderConfig{PastHorizon: -1, FutureSkew: 100 * 365 * 24 * time.Hour, MaxBytes: 1 << 20})
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	var ev schemas.Event
	n := 0
	for sc.Scan() {
		var pos struct {
			Offset int64 `json:"kafka_offset"`
		}
		if err := json.Unmarshal(sc.Bytes(), &pos); err != nil {
			return fmt.Errorf("cannot parse stored row of %s: %w", p.table.Name, err)
		}
		if err := dec.Decode(p.kind, sc.Bytes(), time.Now(), &ev); err != nil {
			return fmt.Errorf("cannot decode stored row of %s: %w", p.table.Name, err)
		}
		key, content := d.keys(&ev)
		d.remember(key, seenEvent{content: content, offset: pos.Offset}, ev.Header().TS)
		n++
	}
	if n > 0 {
		p.log.Debug("deduplication index seeded from the store", "events", n)
	}
	return sc.Err()
}

// loadDeadAhead reads the offsets of the dead letters stored beyond the data prefix (a batch at
// most: dead letters are inserted before their batch's rows).
func (p *partitionConsumer) loadDeadAhead(ctx context.Context) error {
	p.deadAhead = nil
	if p.storedDead <= p.storedData {
		return nil
	}
	q := fmt.Sprintf("SELECT kafka_offset FROM dead_letters WHERE kafka_topic = %s AND kafka_partition = %d AND kafka_offset > %d",
		quoteSQL(p.topic), p.part, p.storedData)
	out, err := p.c.st.Backend().Query(ctx, q, "TabSeparated")
	if err != nil {
		return fmt.Errorf("cannot read dead letters of %s/%d: %w", p.topic, p.part, err)
	}
	p.deadAhead = make(map[int64]bool)
	for _, line := range strings.Fields(string(out)) {
		var o int64
		if _, err := fmt.Sscan(line, &o); err != nil {
			return fmt.Errorf("cannot parse dead-letter offset %q: %w", line, err)
		}
		p.deadAhead[o] = true
	}
	return nil
}

// alreadyStored says whether the valid event at offset, of class dup ("" = a new event), is in
// the store from before a restart or rebalance. Data rows and dead letters are two prefixes of
// the partition (Store.Resume); where they disagree, the store is asked, so that an index that
// differs from the one before the restart (evictions, the seed's bounds) can neither skip a
// message nor store it twice.
func (p *partitionConsumer) alreadyStored(offset int64, dup schemas.Reason) bool {
	switch {
	case offset <= p.storedData && offset <= p.storedDead:
		return true
	case offset <= p.storedData:
		// Stored if it was a new event then; a duplicate now is asked (rare).
		return dup == "" || p.storedAs(p.table, offset)
	case offset <= p.storedDead:
		return p.deadAhead[offset]
	}
	return false
}

// storedAs asks the store whether table holds the row at offset, retrying while it is
// unavailable; when the partition stops meanwhile it answers false (a double is what the oracle
// catches, a loss would not be).
func (p *partitionConsumer) storedAs(t *schemas.Table, offset int64) bool {
	q := fmt.Sprintf("SELECT count() FROM %s WHERE kafka_topic = %s AND kafka_partition = %d AND kafka_offset = %d",
		t.Name, quoteSQL(p.topic), p.part, offset)
	backoff := p.c.cfg.RetryBackoff
	for {
		out, err := p.c.st.Backend().Query(p.ctx, q, "TabSeparated")
		if err == nil {
			return strings.TrimSpace(string(out)) != "0"
		}
		p.log.Warn("cannot look up a stored row, will retry", "offset", offset, "err", err)
		select {
		case <-time.After(backoff):
		case <-p.ctx.Done():
			return false
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// addDuplicate puts the duplicate m into the open batch as a dead letter.
func (p *partitionConsumer) addDuplicate(m kafka.Message, src store.Source, reason schemas.Reason) {
	cfg := &p.c.cfg
	cfg.Metrics.Duplicates.WithLabelValues(p.topic, string(reason)).Inc()
	cfg.Metrics.DeadLetters.WithLabelValues(p.topic, string(reason)).Inc()
	detail := "resend of an event already stored (same event_id, same content): skipped"
	if reason == ReasonDuplicateEventID {
		detail = "event_id already used by a stored event with different content: the first is kept"
	}
	inv := &schemas.InvalidError{Kind: p.kind, Reason: reason, Field: "event_id", Detail: detail}
	p.dead = append(p.dead, store.DeadLetter{Src: src, Key: m.Key, Reason: reason, Field: "event_id", Detail: inv.Error(), Raw: m.Value})
	if reason == ReasonDuplicateEventID {
		p.dlq = append(p.dlq, dlqMessage(m, inv))
	}
}

// quoteSQL returns s as a ClickHouse string literal.
func quoteSQL(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
