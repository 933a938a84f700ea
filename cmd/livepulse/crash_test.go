package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/rollup"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/store/chdb"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// instance is a `livepulse run` child process.
type instance struct {
	cmd     *exec.Cmd
	dataDir string
	exited  chan struct{}
	log     *os.File
}

func startInstance(t *testing.T, brokers, dataDir string) *instance {
	t.Helper()
	os.Remove(filepath.Join(dataDir, "livepulse.http"))
	logf, err := os.CreateTemp(t.TempDir(), "run-*.log")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "run", "--brokers", brokers, "--data-dir", dataDir, "--http", "127.0.0.1:0",
		"--batch-rows", "1000", "--flush-interval", "100ms", "--group", "crash", "--log-level", "info")
	cmd.Env = append(os.Environ(), "LIVEPULSE_AS_MAIN=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{cmd: cmd, dataDir: dataDir, exited: make(chan struct{}), log: logf}
	go func() { cmd.Wait(); close(in.exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-in.exited })
	return in
}

// stored asks the instance's API how many rows of the event tables it holds (-1 while it is
// not answering yet).
func (in *instance) stored() int64 {
	addr, err := os.ReadFile(filepath.Join(in.dataDir, "livepulse.http"))
	if err != nil {
		return -1
	}
	q := "SELECT (SELECT count() FROM viewer_events) + (SELECT count() FROM orders) + (SELECT count() FROM refunds) + (SELECT count() FROM dead_letters)"
	resp, err := http.Post("http://"+string(addr)+"/api/query", "text/plain", strings.NewReader(q))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	n, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func (in *instance) logText() string {
	b, _ := os.ReadFile(in.log.Name())
	return string(b)
}

// producer writes events of all kinds (and some malformed ones) until stopped.
type producer struct {
	w    *kafka.Writer
	next int
	base int64 // event time of the first event; each next one is 5 ms later
}

func (p *producer) write(t *testing.T, n int) {
	t.Helper()
	msgs := make([]kafka.Message, 0, n)
	for i := 0; i < n; i++ {
		id := p.next
		p.next++
		stream := fmt.Sprintf("s-%02d", id%23)
		// Event time spans many minutes, so kills land mid-window and restarts must rebuild.
		h := schemas.Header{EventID: "crash-" + strconv.Itoa(id), TS: p.base + int64(id)*5, StreamID: stream, KOLID: "k" + stream}
		ev := schemas.Event{Kind: schemas.KindViewer, Viewer: schemas.Viewer{Header: h, Action: schemas.ActionHeartbeat, ViewerID: "v"}}
		switch id % 10 {
		case 7, 8:
			ev = schemas.Event{Kind: schemas.KindOrder, Order: schemas.Order{Header: h, OrderID: "o" + strconv.Itoa(id), BuyerID: "b", Quantity: 1, Amount: 1999}}
		case 9:
			ev = schemas.Event{Kind: schemas.KindRefund, Refund: schemas.Refund{Header: h, RefundID: "r" + strconv.Itoa(id), OrderID: "o" + strconv.Itoa(id-2), Amount: 500}}
		}
		value := ev.AppendJSON(nil)
		if id%997 == 0 {
			value = []byte(`{"event_id":"broken-` + strconv.Itoa(id)) // a dead letter
		}
		msgs = append(msgs, kafka.Message{Topic: ev.Kind.DefaultTopic(), Key: []byte(stream), Value: value})
	}
	if err := p.w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Error(err)
	}
}

// TestCrashRecovery kills `livepulse run` with SIGKILL at about 10 %, 50 % and 90 % of a backlog
// while a producer keeps writing, restarts it each time, and checks with an oracle built from
// the broker's offsets that ClickHouse holds every message exactly once.
func TestCrashRecovery(t *testing.T) {
	testenv.Library(t)
	if testing.Short() {
		t.Skip("starts and kills several processes")
	}
	b := testenv.Broker(t, 4)
	dataDir := t.TempDir()
	if err := ingest.EnsureTopics(context.Background(), ingest.Config{Brokers: []string{b.Addr()}}); err != nil {
		t.Fatal(err)
	}
	p := &producer{base: time.Now().Add(-35 * time.Minute).UnixMilli(), w: &kafka.Writer{Addr: kafka.TCP(b.Addr()), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, BatchSize: 5000}}
	defer p.w.Close()
	const backlog = 150_000
	p.write(t, backlog)

	// Keep producing while instances die and restart.
	var wg sync.WaitGroup
	stopProducing := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stopProducing:
				return
			case <-time.After(50 * time.Millisecond):
				p.write(t, 500)
			}
		}
	}()

	for _, frac := range []float64{0.1, 0.5, 0.9} {
		in := startInstance(t, b.Addr(), dataDir)
		target := int64(frac * backlog)
		deadline := time.Now().Add(90 * time.Second)
		for in.stored() < target {
			if time.Now().After(deadline) {
				t.Fatalf("instance never stored %d rows; log:\n%s", target, in.logText())
			}
			select {
			case <-in.exited:
				t.Fatalf("instance exited early; log:\n%s", in.logText())
			case <-time.After(5 * time.Millisecond):
			}
		}
		in.cmd.Process.Signal(syscall.SIGKILL)
		<-in.exited
		t.Logf("killed at %.0f%% of the backlog", frac*100)
	}
	close(stopProducing)
	wg.Wait()

	// The last instance drains everything and stops gracefully.
	var expected int64
	for _, k := range schemas.Kinds {
		for _, o := range testenv.HighWatermarks(t, b.Addr(), k.DefaultTopic()) {
			expected += o
		}
	}
	in := startInstance(t, b.Addr(), dataDir)
	deadline := time.Now().Add(120 * time.Second)
	for in.stored() < expected {
		if time.Now().After(deadline) {
			t.Fatalf("stored %d rows, want %d; log:\n%s", in.stored(), expected, in.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("instance did not stop on SIGTERM")
	}
	if code := in.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("graceful stop exited %d; log:\n%s", code, in.logText())
	}
	checkExactlyOnce(t, b.Addr(), filepath.Join(dataDir, "clickhouse"))
}

// checkExactlyOnce is the oracle (testenv.ExactlyOnce): per topic, the broker's offsets say which
// messages exist; each must be in ClickHouse once — plain count() = distinct positions = messages
// in the broker. Then the rollups are verified against the raw rows.
func checkExactlyOnce(t *testing.T, brokers, chDir string) {
	t.Helper()
	bk, err := store.OpenEmbedded(chdb.Config{LibraryPath: testenv.Library(t), DataDir: chDir})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(bk, nil)
	defer st.Close()
	testenv.CheckExactlyOnce(t, brokers, st.Backend())
	// The minute rollups survived the kills too: rebuilt from the store by each restart, every
	// final minute equals its recomputation from the raw rows.
	out, err := st.Backend().Query(context.Background(), `SELECT toUnixTimestamp64Milli(min(w)) FROM
		(SELECT argMax(watermark, version) AS w FROM rollup_progress GROUP BY kafka_partition)`, "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	var w int64
	fmt.Sscan(string(out), &w)
	finalBefore := w - time.Minute.Milliseconds() - 60_000
	rep, err := rollup.Verify(context.Background(), st, finalBefore)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
	if rep.Checked < 20 {
		t.Errorf("only %d stream-minutes verified", rep.Checked)
	}
	t.Logf("%d final stream-minutes equal their recomputation after the kills", rep.Checked)
}
