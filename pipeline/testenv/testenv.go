// Package testenv starts the real parts tests run against: the in-process Kafka broker and the
// embedded ClickHouse engine.
package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/broker"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/store/chdb"
)

// Library returns libchdb.so's path. Without it the test is skipped on a developer machine and
// fails in CI (CI set), where scripts/setup.sh must have installed it.
func Library(t testing.TB) string {
	t.Helper()
	lib, err := chdb.FindLibrary("")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("embedded ClickHouse needed in CI: %v", err)
		}
		t.Skipf("embedded ClickHouse not installed (run scripts/setup.sh): %v", err)
	}
	return lib
}

// Store opens the embedded engine on a fresh directory, migrated, closed at the end of the test.
// The engine admits one data directory per process at a time: tests using it must not run in
// parallel.
func Store(t testing.TB) *store.Store {
	t.Helper()
	b, err := store.OpenEmbedded(chdb.Config{LibraryPath: Library(t), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(b, nil)
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// Broker starts an in-memory Kafka-protocol broker, closed at the end of the test.
func Broker(t testing.TB, partitions int) *broker.Broker {
	t.Helper()
	b, err := broker.Start(broker.Config{Partitions: partitions})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// HighWatermarks returns the end offset of each partition of topic.
func HighWatermarks(t testing.TB, addr, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(addr)}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, tp := range meta.Topics {
		for _, p := range tp.Partitions {
			req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(p.ID))
		}
	}
	res, err := client.ListOffsets(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	hw := make(map[int]int64)
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			t.Fatal(p.Error)
		}
		hw[p.Partition] = p.LastOffset
	}
	return hw
}

// Committed returns the group's committed offset of each partition of topic (-1: none).
func Committed(t testing.TB, addr, group, topic string, partitions int) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(addr)}
	ps := make([]int, partitions)
	for i := range ps {
		ps[i] = i
	}
	res, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[int]int64)
	for _, p := range res.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}
