package ingest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// TestEnsureTopics: missing event, dead-letter and output topics are created (nothing relies on
// auto-creation), and event topics with different partition counts are refused.
func TestEnsureTopics(t *testing.T) {
	b := testenv.Broker(t, 4)
	ctx := context.Background()
	cfg := ingest.Config{Brokers: []string{b.Addr()}, Partitions: 3, OutputTopics: []string{"livepulse.flags"}}
	if err := ingest.EnsureTopics(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	client := &kafka.Client{Addr: kafka.TCP(b.Addr()), Timeout: 10 * time.Second}
	want := []string{"livepulse.viewer", "livepulse.order", "livepulse.refund", "livepulse.dlq", "livepulse.flags"}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: want})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, tp := range meta.Topics {
		if tp.Error == nil {
			got[tp.Name] = len(tp.Partitions)
		}
	}
	for _, name := range want {
		if got[name] != 3 {
			t.Errorf("topic %s: %d partitions, want 3 (created by EnsureTopics)", name, got[name])
		}
	}

	// An order topic made elsewhere with another partition count: a stream's events would be
	// split across consumers.
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: "other.viewer", NumPartitions: 3, ReplicationFactor: 1},
		{Topic: "other.order", NumPartitions: 5, ReplicationFactor: 1},
		{Topic: "other.refund", NumPartitions: 3, ReplicationFactor: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for topic, err := range res.Errors {
		if err != nil {
			t.Fatalf("create %s: %v", topic, err)
		}
	}
	err = ingest.EnsureTopics(ctx, ingest.Config{Brokers: []string{b.Addr()}, DLQTopic: "other.dlq",
		Topics: map[schemas.Kind]string{schemas.KindViewer: "other.viewer", schemas.KindOrder: "other.order", schemas.KindRefund: "other.refund"}})
	if err == nil || !strings.Contains(err.Error(), "same partition count") || !strings.Contains(err.Error(), "other.order=5") {
		t.Fatalf("mismatched partition counts: err %v", err)
	}
}
