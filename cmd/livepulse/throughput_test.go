package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/simulate"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// brokerMessagesPrefix counts the messages in the event topics PREFIX{viewer,order,refund}.
func brokerMessagesPrefix(t *testing.T, addr, prefix string) int64 {
	var n int64
	for _, k := range schemas.Kinds {
		for _, o := range testenv.HighWatermarks(t, addr, prefix+k.String()) {
			n += o
		}
	}
	return n
}

// pinned is child under `taskset -c cpus` (cpus "" = not pinned).
func pinned(t *testing.T, cpus string, args ...string) *instance {
	t.Helper()
	if cpus == "" {
		return child(t, args...)
	}
	return wrappedChild(t, []string{"taskset", "-c", cpus}, args...)
}

// cpuSeconds is the user+system CPU time of an exited child.
func cpuSeconds(in *instance) float64 {
	return (in.cmd.ProcessState.UserTime() + in.cmd.ProcessState.SystemTime()).Seconds()
}

// TestThroughputByInstances measures catch-up throughput of one `livepulse store` and K
// `livepulse run` instances (K = 1, 2, 3) over the same backlog, and the CPU time each side
// spends per million events: the numbers the README's sizing section uses. Opt-in, slow:
//
//	LIVEPULSE_THROUGHPUT=1 go test ./cmd/livepulse -run TestThroughputByInstances -v -timeout 30m
//
// LIVEPULSE_THROUGHPUT_PIN="store-cpus/instance-cpus" (e.g. "0/1") pins the processes with taskset;
// LIVEPULSE_THROUGHPUT_STREAMS and _RATE change the traffic (default 100 streams, 1000 events/s
// of event time over 5 minutes: about 300k events), _PARTITIONS the partitions per topic
// (default 12), _K the instance counts (default "1,2,3").
func TestThroughputByInstances(t *testing.T) {
	if os.Getenv("LIVEPULSE_THROUGHPUT") == "" {
		t.Skip("set LIVEPULSE_THROUGHPUT=1 to measure")
	}
	testenv.Library(t)
	streams, rate, partitions := 100, 1000.0, 12
	if v, err := strconv.Atoi(os.Getenv("LIVEPULSE_THROUGHPUT_STREAMS")); err == nil {
		streams = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("LIVEPULSE_THROUGHPUT_RATE"), 64); err == nil {
		rate = v
	}
	if v, err := strconv.Atoi(os.Getenv("LIVEPULSE_THROUGHPUT_PARTITIONS")); err == nil {
		partitions = v
	}
	ks := []int{1, 2, 3}
	if v := os.Getenv("LIVEPULSE_THROUGHPUT_K"); v != "" {
		ks = nil
		for _, f := range strings.Split(v, ",") {
			k, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("LIVEPULSE_THROUGHPUT_K=%q: %v", v, err)
			}
			ks = append(ks, k)
		}
	}
	storeCPUs, runCPUs, _ := strings.Cut(os.Getenv("LIVEPULSE_THROUGHPUT_PIN"), "/")
	b := testenv.Broker(t, partitions)
	trafficStart := time.Now().Add(-time.Hour).Truncate(time.Minute)
	newTraffic := func() *simulate.Generator {
		return simulate.NewGenerator(simulate.Config{Streams: streams, Rate: rate, Start: trafficStart, Duration: 5 * time.Minute, Seed: 3})
	}
	t.Logf("pinning store=%q instances=%q; %d streams, %.0f events/s of event time over 5 min, %d partitions per topic", storeCPUs, runCPUs, streams, rate, partitions)
	for _, k := range ks {
		storeAddr := freeAddr(t)
		st := pinned(t, storeCPUs, "store", "--listen", storeAddr, "--data-dir", t.TempDir(), "--log-level", "warn")
		waitHTTP(t, st, "http://"+storeAddr+"/ping")
		db := sqlOver("http://" + storeAddr + "/")
		// Each K reads a backlog of its own, produced before any instance starts (the producer
		// would otherwise compete for the same cores); the K instances start together, so the
		// time includes their start-up and the group's rebalances as they join.
		prefix := fmt.Sprintf("tp%d.", k)
		topics := map[schemas.Kind]string{}
		for _, kind := range schemas.Kinds {
			topics[kind] = prefix + kind.String()
		}
		if err := ingest.EnsureTopics(context.Background(), ingest.Config{Brokers: []string{b.Addr()}, Partitions: partitions, Topics: topics, DLQTopic: prefix + "dlq"}); err != nil {
			t.Fatal(err)
		}
		if _, err := simulate.Produce(context.Background(), newTraffic(), simulate.ProduceConfig{Brokers: []string{b.Addr()}, Topics: topics, Unpaced: true}); err != nil {
			t.Fatal(err)
		}
		total := brokerMessagesPrefix(t, b.Addr(), prefix)
		start := time.Now()
		var runs []*instance
		for range k {
			runs = append(runs, pinned(t, runCPUs, "run", "--brokers", b.Addr(), "--http", freeAddr(t), "--group", "tp", "--topic-prefix", prefix,
				"--partitions", strconv.Itoa(partitions), "--clickhouse", "http://"+storeAddr+"/default", "--log-level", "warn"))
		}
		deadline := time.Now().Add(10 * time.Minute)
		for {
			var n int64
			fmt.Sscan(db.query(t, storedRows), &n)
			if n >= total {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("K=%d: stored %d of %d after 10 min", k, n, total)
			}
			time.Sleep(100 * time.Millisecond)
		}
		elapsed := time.Since(start)
		var runCPU float64
		for _, in := range runs {
			in.cmd.Process.Signal(syscall.SIGTERM)
			<-in.exited
			runCPU += cpuSeconds(in)
		}
		st.cmd.Process.Signal(syscall.SIGTERM)
		<-st.exited
		t.Logf("K=%d instances: %d events in %.1f s (from start-up) = %.0f events/s; CPU per 1M events: instances %.1f s, store %.1f s",
			k, total, elapsed.Seconds(), float64(total)/elapsed.Seconds(), runCPU/float64(total)*1e6, cpuSeconds(st)/float64(total)*1e6)
	}
}
