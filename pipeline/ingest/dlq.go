package ingest

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/schemas"
)

// dlqMessage is the dead-letter copy of m: same key and bytes, headers saying where it came from
// and why it was rejected. (source topic, partition, offset) identifies it for consumers that
// must drop the repeats a crash can cause.
func dlqMessage(m kafka.Message, err *schemas.InvalidError) kafka.Message {
	return kafka.Message{
		Key:   m.Key,
		Value: m.Value,
		Headers: []kafka.Header{
			{Key: "source_topic", Value: []byte(m.Topic)},
			{Key: "source_partition", Value: []byte(strconv.Itoa(m.Partition))},
			{Key: "source_offset", Value: []byte(strconv.FormatInt(m.Offset, 10))},
			{Key: "reason", Value: []byte(err.Reason)},
			{Key: "error", Value: []byte(err.Error())},
		},
	}
}

// produceDLQ writes msgs to the dead-letter topic, retrying until it succeeds, the partition is
// revoked, or the consumer is stopped hard.
func (c *Consumer) produceDLQ(revoked <-chan struct{}, msgs []kafka.Message) error {
	backoff := c.cfg.RetryBackoff
	for {
		ctx, cancel := context.WithTimeout(c.runCtx, 30*time.Second)
		err := c.dlq.WriteMessages(ctx, msgs...)
		cancel()
		if err == nil {
			return nil
		}
		c.cfg.Logger.Warn("cannot write dead letters to Kafka, will retry", "topic", c.cfg.DLQTopic, "err", err)
		select {
		case <-revoked:
			return errRevoked
		case <-c.runCtx.Done():
			return fmt.Errorf("cannot write dead letters to %s: %w", c.cfg.DLQTopic, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}
