package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// /api/live/stream pushes the /api/live figures (today) as Server-Sent Events.
//
// The figures are the same for every client, so one poller per server computes them and
// broadcasts each result to all subscribers: the store sees one computation per interval however
// many dashboards are open. The poller starts with the first subscriber and stops with the last.
// Each subscriber has a one-frame mailbox that always holds the newest frame: a slow client skips
// frames instead of holding up the poller or the other clients.

// sseRetryMS is the reconnection delay suggested to clients (the "retry:" field).
const sseRetryMS = 2000

// liveHub is the shared poller and its subscribers.
type liveHub struct {
	interval time.Duration
	compute  func(context.Context) []byte // one complete SSE frame
	log      *slog.Logger

	mu   sync.Mutex
	subs map[chan []byte]struct{}
	stop chan struct{} // non-nil while a poller runs; closed to stop it
	last []byte        // the newest frame, handed to a new subscriber at once

	polls atomic.Int64 // computations run, for tests
}

func newLiveHub(interval time.Duration, compute func(context.Context) []byte, log *slog.Logger) *liveHub {
	return &liveHub{interval: interval, compute: compute, log: log, subs: make(map[chan []byte]struct{})}
}

// subscribe registers a subscriber, starting the poller if it is the first. The returned
// function unsubscribes; it stops the poller when no subscriber is left.
func (h *liveHub) subscribe() (<-chan []byte, func()) {
	ch := make(chan []byte, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	if h.last != nil {
		ch <- h.last
	}
	if h.stop == nil {
		h.stop = make(chan struct{})
		go h.poll(h.stop)
	}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.subs, ch)
			if len(h.subs) == 0 && h.stop != nil {
				close(h.stop)
				h.stop, h.last = nil, nil // a later poller starts fresh, without a stale frame
			}
		})
	}
}

// state returns how many subscribers there are and whether a poller runs.
func (h *liveHub) state() (subscribers int, polling bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs), h.stop != nil
}

// poll computes a frame at once and then every interval, until stop is closed. A computation
// longer than the interval delays the next one (the ticker drops the missed ticks): the poller
// never runs two computations at a time.
func (h *liveHub) poll(stop chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-stop; cancel() }() // abandon a computation nobody waits for
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		h.polls.Add(1)
		if frame := h.compute(ctx); frame != nil { // nil: abandoned, stop is closed
			h.broadcast(stop, frame)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// broadcast hands frame to every subscriber, unless stop was closed during the computation.
func (h *liveHub) broadcast(stop chan struct{}, frame []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-stop: // the last subscriber left; a new poller may already be running
		return
	default:
	}
	h.last = frame
	for ch := range h.subs {
		select {
		case ch <- frame:
		default: // the client has not taken the previous frame: replace it with this one
			select {
			case <-ch:
			default:
			}
			ch <- frame // cannot block: every send to ch happens under h.mu
		}
	}
}

// liveFrame computes today's figures as an SSE frame: "live" with the /api/live JSON, or
// "error" with a JSON error when the store fails (clients keep the connection and the last
// figures, and get fresh ones when the store answers again).
func (a *liveAPI) liveFrame(ctx context.Context) []byte {
	ctx, cancel := context.WithTimeout(ctx, a.queryTimeout)
	defer cancel()
	rep, err := a.q.live(ctx, a.today(), a.topN)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("live figures query failed", "path", "/api/live/stream", "err", err)
		}
		b, _ := json.Marshal(apiError{Error: "store unavailable: the figures could not be computed"})
		return sseFrame("error", b)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		b, _ = json.Marshal(apiError{Error: "cannot encode the figures"})
		return sseFrame("error", b)
	}
	return sseFrame("live", b)
}

// sseFrame is one event. data must be a single line; encoding/json output always is.
func sseFrame(event string, data []byte) []byte {
	f := make([]byte, 0, len(event)+len(data)+16)
	f = append(f, "event: "...)
	f = append(f, event...)
	f = append(f, "\ndata: "...)
	f = append(f, data...)
	return append(f, "\n\n"...)
}

// serveStream holds the connection open, writing each frame the hub broadcasts and a comment
// line as a heartbeat when nothing else was sent (proxies close connections that stay silent).
func (a *liveAPI) serveStream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// The server's WriteTimeout would cut the stream; ignored where unsupported.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, "retry: "+strconv.Itoa(sseRetryMS)+"\n\n"); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		a.log.Warn("cannot stream /api/live/stream: the response writer cannot flush", "err", err)
		return
	}

	frames, unsubscribe := a.hub.subscribe()
	defer unsubscribe()
	heartbeat := time.NewTicker(a.heartbeat)
	defer heartbeat.Stop()
	for {
		var out []byte
		select {
		case <-r.Context().Done(): // the client went away
			return
		case <-a.done: // the server is shutting down
			return
		case out = <-frames:
			heartbeat.Reset(a.heartbeat)
		case <-heartbeat.C:
			out = []byte(": heartbeat\n\n")
		}
		if _, err := w.Write(out); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
