package flags

import "sync"

// Hub fans flag emissions out to live subscribers (the SSE stream). A slow subscriber loses
// its oldest pending messages rather than slowing anyone else.
type Hub struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: make(map[chan []byte]struct{})} }

// Subscribe returns a channel of JSON flag emissions and a function to unsubscribe.
func (h *Hub) Subscribe() (<-chan []byte, func()) {
	ch := make(chan []byte, 64)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// Broadcast sends body to every subscriber without blocking.
func (h *Hub) Broadcast(body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- body:
		default:
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- body:
			default:
			}
		}
	}
}
