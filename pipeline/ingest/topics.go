package ingest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/schemas"
)

// transport builds a kafka-go transport that dials like d (TLS, SASL).
func transport(d *kafka.Dialer) *kafka.Transport {
	return &kafka.Transport{TLS: d.TLS, SASL: d.SASLMechanism, ClientID: "livepulse", DialTimeout: 10 * time.Second}
}

// EnsureTopics creates the event, dead-letter and output topics that are missing, and checks that the
// three event topics have the same partition count: partition p of each must hold the same
// streams, or a stream's orders and viewers would be counted in different processes.
func EnsureTopics(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := checkBrokers(ctx, cfg.Brokers, cfg.Dialer); err != nil {
		return err
	}
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 10 * time.Second, Transport: transport(cfg.Dialer)}
	want := append([]string{cfg.DLQTopic}, cfg.OutputTopics...)
	for _, k := range schemas.Kinds {
		want = append(want, cfg.Topics[k])
	}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: want})
	if err != nil {
		return fmt.Errorf("cannot read Kafka metadata from %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	partitions := make(map[string]int)
	for _, t := range meta.Topics {
		if t.Error == nil {
			partitions[t.Name] = len(t.Partitions)
		}
	}
	var create []kafka.TopicConfig
	for _, t := range want {
		if partitions[t] == 0 {
			create = append(create, kafka.TopicConfig{Topic: t, NumPartitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor})
			partitions[t] = cfg.Partitions
		}
	}
	if len(create) > 0 {
		res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: create})
		if err != nil {
			return fmt.Errorf("cannot create topics: %w", err)
		}
		for topic, err := range res.Errors {
			if err != nil && err != kafka.TopicAlreadyExists {
				return fmt.Errorf("cannot create topic %s: %w", topic, err)
			}
		}
		if err := waitForTopics(ctx, client, want); err != nil {
			return err
		}
		meta, err = client.Metadata(ctx, &kafka.MetadataRequest{Topics: want})
		if err != nil {
			return fmt.Errorf("cannot read Kafka metadata: %w", err)
		}
		for _, t := range meta.Topics {
			partitions[t.Name] = len(t.Partitions)
		}
	}
	var counts []string
	first := partitions[cfg.Topics[schemas.Kinds[0]]]
	same := true
	for _, k := range schemas.Kinds {
		n := partitions[cfg.Topics[k]]
		counts = append(counts, fmt.Sprintf("%s=%d", cfg.Topics[k], n))
		same = same && n == first
	}
	if !same {
		return fmt.Errorf("the event topics must have the same partition count so a stream's events meet in one consumer, found %s", strings.Join(counts, ", "))
	}
	return nil
}

// waitForTopics waits until the broker reports every topic with a leader.
func waitForTopics(ctx context.Context, client *kafka.Client, topics []string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		ready := err == nil && len(meta.Topics) == len(topics)
		for _, t := range meta.Topics {
			ready = ready && t.Error == nil && len(t.Partitions) > 0
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cannot see created topics %v after 30 s: %v", topics, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
