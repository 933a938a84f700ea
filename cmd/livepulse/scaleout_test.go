package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/simulate"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// child starts the test binary as `livepulse ARGS…` (see TestMain), logging to a file.
func child(t *testing.T, args ...string) *instance { return wrappedChild(t, nil, args...) }

// wrappedChild is child run by a wrapper command, e.g. taskset -c 1.
func wrappedChild(t *testing.T, wrapper []string, args ...string) *instance {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), args[0]+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv := append(append(append([]string{}, wrapper...), exe), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LIVEPULSE_AS_MAIN=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{cmd: cmd, exited: make(chan struct{}), log: logf}
	go func() { cmd.Wait(); close(in.exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-in.exited })
	return in
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitHTTP polls url until it answers 200 or the child exits.
func waitHTTP(t *testing.T, in *instance, u string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-in.exited:
			t.Fatalf("%s exited; log:\n%s", in.cmd.Args[1], in.logText())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not answering after 60 s; log:\n%s", u, in.logText())
		}
	}
}

// sqlOver runs SELECTs against a ClickHouse HTTP interface (`livepulse store`) or a livepulse
// instance's /api/query: both answer ClickHouse's way.
type sqlOver string

func (u sqlOver) query(t *testing.T, q string) string {
	t.Helper()
	resp, err := http.Post(string(u), "text/plain", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", q, resp.StatusCode, b)
	}
	return string(b)
}

func getJSON(t *testing.T, u string) any {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return v
}

// storedRows is what the event and dead-letter tables hold, which equals the broker's messages
// once everything is consumed.
const storedRows = "SELECT (SELECT count() FROM viewer_events) + (SELECT count() FROM orders) + (SELECT count() FROM refunds) + (SELECT count() FROM dead_letters)"

// fingerprint is what must be equal between deployments: raw rows (position, identity, late
// flag, money), dead letters, and every minute rollup row but its emission bookkeeping.
func fingerprint(t *testing.T, db sqlOver) map[string]string {
	t.Helper()
	fp := map[string]string{}
	for _, tb := range []string{"viewer_events", "orders", "refunds"} {
		money := "0"
		if tb != "viewer_events" {
			money = "sum(amount)"
		}
		fp[tb] = db.query(t, fmt.Sprintf(`SELECT count(), uniqExact(kafka_topic, kafka_partition, kafka_offset), sum(late), %s,
			groupBitXor(cityHash64(event_id, kafka_topic, kafka_partition, kafka_offset, late)) FROM %s`, money, tb))
	}
	fp["dead_letters"] = db.query(t, "SELECT count(), groupBitXor(cityHash64(kafka_topic, kafka_partition, kafka_offset, reason)) FROM dead_letters")
	fp["stream_metrics_1m"] = db.query(t, "SELECT * EXCEPT (version, emitted_at) FROM stream_metrics_1m FINAL ORDER BY stream_id, minute, kafka_partition")
	fp["totals"] = db.query(t, "SELECT count(), sum(gmv), sum(orders), sum(refunds), sum(refund_amount), sum(joins), sum(heartbeats), sum(watch_ms_ended), sum(late_events) FROM stream_metrics_1m FINAL")
	return fp
}

// settle polls fingerprint until it stops changing (open minutes are re-emitted every second,
// identical once every event is in).
func settle(t *testing.T, db sqlOver, want int64) map[string]string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var n int64
		fmt.Sscan(db.query(t, storedRows), &n)
		if n >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored %d rows, want %d", n, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	prev := fingerprint(t, db)
	for {
		time.Sleep(3 * time.Second)
		fp := fingerprint(t, db)
		if reflect.DeepEqual(fp, prev) {
			return fp
		}
		if time.Now().After(deadline) {
			t.Fatal("the rollup did not settle within 90 s")
		}
		prev = fp
	}
}

func brokerMessages(t *testing.T, addr string) int64 {
	var n int64
	for _, k := range schemas.Kinds {
		for _, o := range testenv.HighWatermarks(t, addr, k.DefaultTopic()) {
			n += o
		}
	}
	return n
}

// TestScaleOut: one `livepulse store`, `livepulse run` instances sharing it over HTTP (two, then
// a third joins, then one is killed with SIGKILL), simulator traffic paced live; after the drain
// the stored rows, the minute rollups and /api/live on every instance equal what a single
// instance with the embedded store computes from the same messages — exactly.
// LIVEPULSE_SCALEOUT_LONG=1 runs five times the traffic.
func TestScaleOut(t *testing.T) {
	testenv.Library(t)
	if testing.Short() {
		t.Skip("starts several processes")
	}
	const partitions = 6
	rate, eventSpan, speed := 150.0, 8*time.Minute, 16.0
	if os.Getenv("LIVEPULSE_SCALEOUT_LONG") != "" {
		rate, eventSpan = 750, 16*time.Minute
	}
	b := testenv.Broker(t, partitions)
	if err := ingest.EnsureTopics(context.Background(), ingest.Config{Brokers: []string{b.Addr()}, Partitions: partitions}); err != nil {
		t.Fatal(err)
	}

	storeAddr := freeAddr(t)
	st := child(t, "store", "--listen", storeAddr, "--data-dir", t.TempDir(), "--log-level", "warn")
	waitHTTP(t, st, "http://"+storeAddr+"/ping")
	db := sqlOver("http://" + storeAddr + "/")

	runArgs := func(httpAddr, group string, store ...string) []string {
		return append([]string{"run", "--brokers", b.Addr(), "--http", httpAddr, "--group", group,
			"--batch-rows", "2000", "--flush-interval", "200ms", "--idle-partition-timeout", "2s", "--log-level", "info",
			// Event time runs 16× the wall clock here, so a failover (10 s session timeout, then
			// the rebalance) lasts minutes of event time: lateness must cover it, or the moved
			// partitions' backlog is late for their new owner (sizing rule in the README).
			"--allowed-lateness", "5m"}, store...)
	}
	clickhouse := []string{"--clickhouse", "http://" + storeAddr + "/default"}
	var apis []string
	var instances []*instance
	start := func() *instance {
		addr := freeAddr(t)
		in := child(t, runArgs(addr, "scale", clickhouse...)...)
		waitHTTP(t, in, "http://"+addr+"/readyz")
		apis = append(apis, "http://"+addr)
		instances = append(instances, in)
		return in
	}
	start()
	start()

	// Live traffic, event time following the wall clock at `speed`×.
	simStart := time.Now().Add(-eventSpan - time.Minute).Truncate(time.Minute)
	g := simulate.NewGenerator(simulate.Config{Streams: 24, Rate: rate, Start: simStart, Duration: eventSpan, Seed: 11, BadFraction: 0.001})
	produced := make(chan error, 1)
	go func() {
		_, err := simulate.Produce(context.Background(), g, simulate.ProduceConfig{Brokers: []string{b.Addr()}, Speed: speed})
		produced <- err
	}()
	wall := time.Duration(float64(eventSpan) / speed)
	time.Sleep(wall / 3)
	start()
	t.Logf("third instance joined at about 1/3 of the traffic")
	time.Sleep(wall / 3)
	victim := instances[0]
	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.exited
	t.Logf("first instance killed (SIGKILL) at about 2/3 of the traffic")
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	total := brokerMessages(t, b.Addr())
	multi := settle(t, db, total)
	from, to := simStart.Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	liveQuery := "/api/live?" + url.Values{"from": {from}, "to": {to}}.Encode()
	var multiLive []any
	for _, api := range apis[1:] {
		multiLive = append(multiLive, getJSON(t, api+liveQuery))
	}

	// The same messages, one instance, the embedded store, its own consumer group.
	addr := freeAddr(t)
	single := child(t, runArgs(addr, "single", "--data-dir", t.TempDir())...)
	waitHTTP(t, single, "http://"+addr+"/readyz")
	one := settle(t, sqlOver("http://"+addr+"/api/query"), total)
	oneLive := getJSON(t, "http://"+addr+liveQuery)

	for k, want := range one {
		if got := multi[k]; got != want {
			t.Errorf("%s differs between 3 instances over `livepulse store` and 1 embedded instance:\n%s", k, firstDiff(got, want))
		}
	}
	for i, live := range multiLive {
		if !reflect.DeepEqual(live, oneLive) {
			a, _ := json.Marshal(live)
			b, _ := json.Marshal(oneLive)
			t.Errorf("/api/live of instance %d differs from the single instance:\n%s", i+2, firstDiff(string(a), string(b)))
		}
	}
	sum := sha256.Sum256([]byte(one["stream_metrics_1m"]))
	t.Logf("%d messages; %s rollup rows (sha256 %x) and /api/live equal on %d instances and the single one; totals %s",
		total, strings.Fields(one["totals"])[0], sum[:6], len(multiLive), strings.TrimSpace(one["totals"]))
	if t.Failed() {
		for i, in := range instances {
			t.Logf("instance %d log:\n%s", i+1, tail(in.logText(), 30))
		}
	}
	for _, in := range append(instances[1:], single) {
		in.cmd.Process.Signal(syscall.SIGTERM)
		<-in.exited
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(got, want string) string {
	g, w := bufio.NewScanner(strings.NewReader(got)), bufio.NewScanner(strings.NewReader(want))
	for line := 1; ; line++ {
		gok, wok := g.Scan(), w.Scan()
		if !gok && !wok {
			return "(equal lines; different bytes)"
		}
		if g.Text() != w.Text() || gok != wok {
			return fmt.Sprintf("line %d:\n  got  %.400s\n  want %.400s", line, g.Text(), w.Text())
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestStoreRefusesOpenListenWithoutPassword: beyond loopback, `livepulse store` needs the
// writer's password and says so before touching the data.
func TestStoreRefusesOpenListenWithoutPassword(t *testing.T) {
	t.Setenv("LIVEPULSE_STORE_PASSWORD", "")
	err := runStore(context.Background(), []string{"--listen", "0.0.0.0:0", "--data-dir", t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "LIVEPULSE_STORE_PASSWORD") {
		t.Errorf("store on 0.0.0.0 without a password: %v, want a refusal naming LIVEPULSE_STORE_PASSWORD", err)
	}
	t.Setenv("LIVEPULSE_STORE_READER_PASSWORD", "r")
	if _, err := storeUsers("", ""); err == nil {
		t.Error("a reader password without a writer password was accepted")
	}
}

// TestRunRefusesUnequalPartitions: `livepulse run` against topics whose partition counts differ
// exits at start-up with an error naming them, instead of serving without consuming.
func TestRunRefusesUnequalPartitions(t *testing.T) {
	testenv.Library(t)
	b := testenv.Broker(t, 4)
	client := &kafka.Client{Addr: kafka.TCP(b.Addr())}
	if _, err := client.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: "livepulse.viewer", NumPartitions: 4, ReplicationFactor: 1},
		{Topic: "livepulse.order", NumPartitions: 4, ReplicationFactor: 1},
		{Topic: "livepulse.refund", NumPartitions: 2, ReplicationFactor: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	in := child(t, "run", "--brokers", b.Addr(), "--data-dir", t.TempDir(), "--http", "127.0.0.1:0")
	select {
	case <-in.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("still running after 60 s; log:\n%s", in.logText())
	}
	if code := in.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(in.logText(), "livepulse.refund=2") {
		t.Errorf("exit %d; want 1 and an error naming livepulse.refund=2; log:\n%s", code, in.logText())
	}
}
