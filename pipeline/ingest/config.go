// Package ingest is livepulse's consuming end: a Kafka consumer group with one goroutine per
// assigned partition, decoding each message against the contract, batching rows per table into
// ClickHouse and committing offsets only after ClickHouse holds the rows.
package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/schemas"
)

// Config configures a Consumer. The zero value works but for Brokers.
type Config struct {
	// Brokers are the Kafka bootstrap addresses. Required.
	Brokers []string
	// GroupID is the consumer group. Default "livepulse".
	GroupID string
	// Topics maps each event kind to its topic. Default Kind.DefaultTopic() ("livepulse.viewer", …).
	Topics map[schemas.Kind]string
	// DLQTopic receives dead letters, with headers naming source topic, partition, offset and
	// reason. Default "livepulse.dlq".
	DLQTopic string
	// OutputTopics are other topics livepulse writes (the flags topic), created with the rest
	// when missing, so nothing relies on the broker's auto-creation. Default none.
	OutputTopics []string
	// Partitions is the partition count used when the pipeline creates missing topics. Default 4.
	Partitions int
	// ReplicationFactor is used when creating topics. Default 1.
	ReplicationFactor int

	// BatchRows seals a partition's batch at this many messages. Default 50,000.
	BatchRows int
	// InsertRows is the size of one INSERT: a table's writer inserts the batches of every
	// partition it has been handed once they hold this many rows (or a partition has
	// InFlightBatches of them, or a batch has waited half of FlushInterval; one from a backlog,
	// sealed at least BatchRows messages behind the end of its partition, twice FlushInterval),
	// and never more in one INSERT. ClickHouse prefers few large inserts: each
	// writes a part, and small parts cost it CPU again when it merges them. Memory stays bounded
	// by InFlightBatches. Default 4 × BatchRows; never below BatchRows.
	InsertRows int
	// FlushInterval bounds how long an event waits before its INSERT starts: partitions seal
	// and table writers flush at half of it. In a backlog (at least BatchRows messages behind),
	// batches may wait up to twice FlushInterval for others to join their INSERT. Default 1 s.
	FlushInterval time.Duration
	// InFlightBatches bounds sealed, not yet committed batches per partition. When reached, the
	// partition stops reading: a slow store pushes back to Kafka instead of growing memory.
	// Default 4.
	InFlightBatches int
	// FetchBuffer bounds messages fetched ahead of processing per partition. Default 4096.
	FetchBuffer int
	// FetchMaxBytes bounds one fetch response per partition (at least one record batch is always
	// returned). Default 1 MiB, librdkafka's default: larger responses cost more than they save
	// (the in-process broker grows the response by appends, and each response is garbage once
	// read).
	FetchMaxBytes int
	// RetryBackoff is the first wait after a failed insert or commit; it doubles up to 30 s.
	// Default 250 ms.
	RetryBackoff time.Duration

	// DedupeWindow and DedupeMaxEvents bound the per-partition index that catches a producer's
	// resent event_id (dedupe.go): it remembers the partition's last DedupeMaxEvents events, none
	// older in event time than DedupeWindow before the newest. Defaults 10 min and 100,000 (about
	// 61 bytes each: 6.1 MB per partition when full); DedupeMaxEvents < 0 turns deduplication off.
	DedupeWindow    time.Duration
	DedupeMaxEvents int

	// Decoder holds the contract's limits (size, timestamp skew and horizon, currency).
	Decoder schemas.DecoderConfig
	// Processor, if set, is the stateful stage after decoding: event-time windows, metrics,
	// detectors. It sees each valid event once, in partition order.
	Processor Processor
	// Dialer connects to Kafka (TLS, SASL). Default kafka-go's default dialer.
	Dialer *kafka.Dialer
	// Metrics receives counters; nil means a private, unexported set.
	Metrics *Metrics
	// Logger; nil means silent.
	Logger *slog.Logger
	// Now is the wall clock for timestamp checks and the Processor's idle partitions, read once
	// per burst of messages taken together from the fetch buffer (at most 257, microseconds
	// apart). Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.GroupID == "" {
		c.GroupID = "livepulse"
	}
	topics := make(map[schemas.Kind]string, len(schemas.Kinds))
	for _, k := range schemas.Kinds {
		topics[k] = k.DefaultTopic()
		if t := c.Topics[k]; t != "" {
			topics[k] = t
		}
	}
	c.Topics = topics
	if c.DLQTopic == "" {
		c.DLQTopic = "livepulse.dlq"
	}
	if c.Partitions <= 0 {
		c.Partitions = 4
	}
	if c.ReplicationFactor <= 0 {
		c.ReplicationFactor = 1
	}
	if c.BatchRows <= 0 {
		c.BatchRows = 50_000
	}
	if c.InsertRows <= 0 {
		c.InsertRows = 4 * c.BatchRows
	}
	c.InsertRows = max(c.InsertRows, c.BatchRows)
	if c.FlushInterval <= 0 {
		c.FlushInterval = time.Second
	}
	if c.InFlightBatches <= 0 {
		c.InFlightBatches = 4
	}
	if c.FetchBuffer <= 0 {
		c.FetchBuffer = 4096
	}
	if c.FetchMaxBytes <= 0 {
		c.FetchMaxBytes = 1 << 20
	}
	if c.DedupeWindow <= 0 {
		c.DedupeWindow = 10 * time.Minute
	}
	if c.DedupeMaxEvents == 0 {
		c.DedupeMaxEvents = 100_000
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 250 * time.Millisecond
	}
	if c.Dialer == nil {
		c.Dialer = kafka.DefaultDialer
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Processor is the stateful stage after decoding. Its methods are called from partition
// goroutines, concurrently across partitions.
type Processor interface {
	// Open is called when a partition is assigned, before any event of it; it may rebuild
	// state from the store (and block meanwhile).
	Open(ctx context.Context, topic string, partition int32) error
	// Reading says whether messages are waiting in the partition: a partition that is behind
	// must hold event time back even before its first message arrives. It is called for every
	// assigned partition (backlog true) before any starts, then by each when it knows.
	Reading(topic string, partition int32, backlog bool)
	// Observe sees the event time of every message with a valid event, including those
	// re-read after a restart that the store already holds (they still advance event time);
	// backlog says more messages are waiting in the partition. now is the wall clock (Config.Now)
	// the consumer read for the message (once per burst of messages), for all its uses: a clock
	// read is not free.
	Observe(topic string, partition int32, ts int64, backlog bool, now time.Time)
	// Process sees each valid event not yet stored, in partition order, and says whether it is
	// late (beyond the allowed lateness: stored with late=1, not counted); now as for Observe.
	Process(src store.Source, ev *schemas.Event, now time.Time) (late bool)
	// Close is called when the partition is revoked or the consumer stops.
	Close(topic string, partition int32)
}
