// Package ingest is livepulse's consuming end: a Kafka consumer group with one goroutine per
// assigned partition, decoding each message against the contract, batching rows per table into
// ClickHouse and committing offsets only after ClickHouse holds the rows.
package ingest

import (
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
	// Partitions is the partition count used when the pipeline creates missing topics. Default 4.
	Partitions int
	// ReplicationFactor is used when creating topics. Default 1.
	ReplicationFactor int

	// BatchRows seals a partition's batch at this many messages, and caps one INSERT. ClickHouse
	// prefers few large inserts. Default 50,000.
	BatchRows int
	// FlushInterval bounds how long an event waits before its INSERT starts: partitions seal
	// and table writers flush at half of it. Default 1 s.
	FlushInterval time.Duration
	// InFlightBatches bounds sealed, not yet committed batches per partition. When reached, the
	// partition stops reading: a slow store pushes back to Kafka instead of growing memory.
	// Default 4.
	InFlightBatches int
	// FetchBuffer bounds messages fetched ahead of processing per partition. Default 4096.
	FetchBuffer int
	// RetryBackoff is the first wait after a failed insert or commit; it doubles up to 30 s.
	// Default 250 ms.
	RetryBackoff time.Duration

	// Decoder holds the contract's limits (size, timestamp skew and horizon, currency).
	Decoder schemas.DecoderConfig
	// Observer, if set, sees every valid event in partition order (live metrics, detectors).
	Observer Observer
	// Dialer connects to Kafka (TLS, SASL). Default kafka-go's default dialer.
	Dialer *kafka.Dialer
	// Metrics receives counters; nil means a private, unexported set.
	Metrics *Metrics
	// Logger; nil means silent.
	Logger *slog.Logger
	// Now is the wall clock for timestamp checks. Default time.Now.
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
	if c.FlushInterval <= 0 {
		c.FlushInterval = time.Second
	}
	if c.InFlightBatches <= 0 {
		c.InFlightBatches = 4
	}
	if c.FetchBuffer <= 0 {
		c.FetchBuffer = 4096
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

// Observer sees decoded events. It is called from partition goroutines, concurrently across
// partitions; after a restart it may see events again that it saw before the crash.
type Observer interface {
	Observe(src store.Source, ev *schemas.Event)
}
