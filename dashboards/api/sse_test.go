package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/testenv"
)

// sseEvent is one event read from a stream; comment is set for a comment line (a heartbeat).
type sseEvent struct {
	event, data, comment, retry string
}

// readEvent reads up to the next blank line.
func readEvent(r *bufio.Reader) (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			return ev, nil
		case strings.HasPrefix(line, ":"):
			ev.comment = strings.TrimSpace(line[1:])
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				ev.event = value
			case "data":
				ev.data = value
			case "retry":
				ev.retry = value
			}
		}
	}
}

// openStream starts a GET of the stream; the response body is closed at the end of the test.
func openStream(t *testing.T, ctx context.Context, url string) *bufio.Reader {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	ev, err := readEvent(r)
	if err != nil || ev.retry != "2000" {
		t.Fatalf("first event %+v (%v), want the retry hint", ev, err)
	}
	return r
}

// TestLiveStream reads two events from each of two clients of a real server: each carries the
// same figures as /api/live for today.
func TestLiveStream(t *testing.T) {
	st := testenv.Store(t)
	seed(t, st)
	cfg := Config{Store: st, LiveInterval: 50 * time.Millisecond, Now: func() time.Time { return at(12, 5, 0) }}
	srv := httptest.NewServer(Handler(cfg))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var want LiveReport
	getJSON(t, Handler(cfg), "/api/live", &want)
	eq(t, "today", want.Global, wantGlobal)

	a := openStream(t, ctx, srv.URL+"/api/live/stream")
	b := openStream(t, ctx, srv.URL+"/api/live/stream")
	for i := range 2 {
		for name, r := range map[string]*bufio.Reader{"a": a, "b": b} {
			var ev sseEvent
			var err error
			for ev.event == "" && err == nil { // skip heartbeats
				ev, err = readEvent(r)
			}
			if err != nil {
				t.Fatalf("client %s, event %d: %v", name, i, err)
			}
			if ev.event != "live" {
				t.Fatalf("client %s, event %d: %+v", name, i, ev)
			}
			var got LiveReport
			if err := json.Unmarshal([]byte(ev.data), &got); err != nil {
				t.Fatalf("client %s, event %d: %v\n%s", name, i, err, ev.data)
			}
			eq(t, fmt.Sprintf("client %s, event %d", name, i), got, want)
		}
	}
}

// TestLiveHubSharesOnePoller: one computation feeds every subscriber; the poller stops when the
// last one leaves and starts afresh with the next.
func TestLiveHubSharesOnePoller(t *testing.T) {
	gate := make(chan struct{})
	var computed atomic.Int64
	h := newLiveHub(time.Millisecond, func(ctx context.Context) []byte {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil
		}
		return []byte(fmt.Sprint(computed.Add(1)))
	}, slog.New(slog.DiscardHandler))

	a, unsubA := h.subscribe()
	b, unsubB := h.subscribe()
	if n, polling := h.state(); n != 2 || !polling {
		t.Fatalf("state %d, %v", n, polling)
	}
	for i := 1; i <= 3; i++ {
		gate <- struct{}{} // let exactly one computation finish
		fa, fb := string(<-a), string(<-b)
		if fa != fmt.Sprint(i) || fb != fa {
			t.Fatalf("round %d: a got %q, b got %q", i, fa, fb)
		}
	}
	if c := computed.Load(); c != 3 {
		t.Fatalf("%d computations for 3 rounds of 2 subscribers", c)
	}

	unsubA()
	if n, polling := h.state(); n != 1 || !polling {
		t.Fatalf("after one left: %d, %v", n, polling)
	}
	unsubB()
	unsubB() // idempotent
	if n, polling := h.state(); n != 0 || polling {
		t.Fatalf("after both left: %d, %v", n, polling)
	}
	polls := h.polls.Load()
	time.Sleep(50 * time.Millisecond)
	if p := h.polls.Load(); p != polls {
		t.Fatalf("still polling with nobody listening: %d → %d computations started", polls, p)
	}

	// A new subscriber starts a new poller and is not handed the stale frame.
	c, unsubC := h.subscribe()
	defer unsubC()
	select {
	case f := <-c:
		t.Fatalf("stale frame %q", f)
	default:
	}
	gate <- struct{}{}
	if f := string(<-c); f != "4" {
		t.Fatalf("new poller's frame %q", f)
	}
}

// TestLiveHubSlowSubscriber: a subscriber that does not read does not hold up the others, and
// finds the newest frame when it reads.
func TestLiveHubSlowSubscriber(t *testing.T) {
	var computed atomic.Int64
	h := newLiveHub(time.Millisecond, func(ctx context.Context) []byte {
		return []byte(fmt.Sprint(computed.Add(1)))
	}, slog.New(slog.DiscardHandler))
	slow, unsubSlow := h.subscribe()
	defer unsubSlow()
	fast, unsubFast := h.subscribe()
	defer unsubFast()
	for range 20 {
		<-fast
	}
	unsubFast()
	time.Sleep(10 * time.Millisecond)
	first := string(<-slow)
	if n := computed.Load(); first == "1" || n < 20 {
		t.Fatalf("slow subscriber got frame %s of %d", first, n)
	}
}

// TestLiveStreamHeartbeatAndShutdown: with no figures to send, the stream sends comment
// heartbeats; closing Config.Done ends it; a client that leaves stops the poller.
func TestLiveStreamHeartbeatAndShutdown(t *testing.T) {
	done := make(chan struct{})
	a := newLiveAPI(Config{Done: done})
	a.heartbeat = 10 * time.Millisecond
	a.hub = newLiveHub(time.Hour, func(ctx context.Context) []byte { <-ctx.Done(); return nil }, a.log)
	srv := httptest.NewServer(http.HandlerFunc(a.serveStream))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	r := openStream(t, ctx, srv.URL)
	for range 2 {
		ev, err := readEvent(r)
		if err != nil || ev.comment != "heartbeat" || ev.event != "" {
			t.Fatalf("%+v, %v; want a heartbeat", ev, err)
		}
	}
	close(done)
	for {
		if _, err := readEvent(r); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the poller to stop", func() bool { n, polling := a.hub.state(); return n == 0 && !polling })

	// A client that disconnects is unsubscribed.
	a.done = nil
	cctx, ccancel := context.WithCancel(ctx)
	openStream(t, cctx, srv.URL)
	waitFor(t, "the subscription", func() bool { n, _ := a.hub.state(); return n == 1 })
	ccancel()
	waitFor(t, "the poller to stop after the client left", func() bool { n, polling := a.hub.state(); return n == 0 && !polling })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestLiveFrameOnStoreFailure: when the store fails the stream says so instead of going silent.
func TestLiveFrameOnStoreFailure(t *testing.T) {
	st := testenv.Store(t)
	a := newLiveAPI(Config{Store: st})
	st.Close()
	f := string(a.liveFrame(context.Background()))
	if !strings.HasPrefix(f, "event: error\ndata: {\"error\":\"store unavailable") || !strings.HasSuffix(f, "\n\n") {
		t.Fatalf("frame %q", f)
	}
}
