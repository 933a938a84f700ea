package metrics

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/livepulse/livepulse/schemas"
)

// t0 is a minute boundary; at(m, s) is second s of minute m after it.
const t0 = int64(1_700_000_040_000)

func at(m int, sec float64) int64 { return t0 + int64(m)*minuteMS + int64(sec*1000) }

func header(stream string, ts int64) schemas.Header {
	return schemas.Header{EventID: fmt.Sprint(stream, ts), TS: ts, StreamID: stream, KOLID: "kol-" + stream, BrandID: "brand", Platform: "tiktok"}
}

func viewerEv(a schemas.Action, stream, viewer, session string, ts int64) *schemas.Event {
	return &schemas.Event{Kind: schemas.KindViewer, Viewer: schemas.Viewer{Header: header(stream, ts), Action: a, ViewerID: viewer, SessionID: session}}
}

func join(stream, viewer, session string, ts int64) *schemas.Event {
	return viewerEv(schemas.ActionJoin, stream, viewer, session, ts)
}
func leave(stream, viewer, session string, ts int64) *schemas.Event {
	return viewerEv(schemas.ActionLeave, stream, viewer, session, ts)
}
func beat(stream, viewer, session string, ts int64) *schemas.Event {
	return viewerEv(schemas.ActionHeartbeat, stream, viewer, session, ts)
}
func engage(stream, viewer, session string, ts int64) *schemas.Event {
	return viewerEv(schemas.ActionEngage, stream, viewer, session, ts)
}

func countEv(stream string, n uint64, ts int64) *schemas.Event {
	return &schemas.Event{Kind: schemas.KindViewer, Viewer: schemas.Viewer{Header: header(stream, ts), Action: schemas.ActionCount, ReportedViewers: n}}
}

func order(stream, id, buyer string, amount schemas.Money, ts int64) *schemas.Event {
	return &schemas.Event{Kind: schemas.KindOrder, Order: schemas.Order{Header: header(stream, ts), OrderID: id, BuyerID: buyer, SKUID: "sku", Quantity: 1, Amount: amount, Currency: "USD"}}
}

func refund(stream, id, orderID string, amount schemas.Money, ts int64) *schemas.Event {
	return &schemas.Event{Kind: schemas.KindRefund, Refund: schemas.Refund{Header: header(stream, ts), RefundID: id, OrderID: orderID, Amount: amount, Currency: "USD"}}
}

// rowKey names a row: stream and minute start.
type rowKey struct {
	stream string
	minute int64
}

func (k rowKey) String() string { return fmt.Sprintf("%s@%+d", k.stream, (k.minute-t0)/minuteMS) }

// emissions collects rows, keeping the last emission of each key.
type emissions map[rowKey]MinuteRow

func (e emissions) add(t testing.TB, rows []MinuteRow) {
	t.Helper()
	if !slices.IsSortedFunc(rows, func(a, b MinuteRow) int {
		if a.StreamID != b.StreamID {
			if a.StreamID < b.StreamID {
				return -1
			}
			return 1
		}
		return int(a.Minute - b.Minute)
	}) {
		t.Fatalf("rows not sorted by (stream, minute)")
	}
	for _, r := range rows {
		e[rowKey{r.StreamID, r.Minute}] = r
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].StreamID == rows[i-1].StreamID && rows[i].Minute == rows[i-1].Minute {
			t.Fatalf("row %s@%d emitted twice in one call", rows[i].StreamID, rows[i].Minute)
		}
	}
}

// final runs events through a new shard (never late), flushes, and returns the last emission of
// each row.
func final(t testing.TB, cfg Config, lookup OrderLookup, events ...*schemas.Event) emissions {
	t.Helper()
	sh := NewShard(3, cfg, lookup)
	for _, ev := range events {
		if sh.Add(ev, math.MinInt64) {
			t.Fatalf("late with no watermark")
		}
	}
	out := emissions{}
	out.add(t, sh.Flush(context.Background()))
	return out
}

// row returns minute m of stream "s" (m relative to t0).
func (e emissions) row(stream string, m int) (MinuteRow, bool) {
	r, ok := e[rowKey{stream, t0 + int64(m)*minuteMS}]
	return r, ok
}

// fakeStore is an OrderLookup over a fixed set of orders that records its calls.
type fakeStore struct {
	mu     sync.Mutex
	orders map[string]OrderRef
	calls  [][]string
	fail   int // fail this many next calls
}

func (f *fakeStore) lookup(_ context.Context, ids []string) (map[string]OrderRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, slices.Clone(ids))
	if f.fail > 0 {
		f.fail--
		return nil, fmt.Errorf("clickhouse unavailable")
	}
	out := make(map[string]OrderRef)
	for _, id := range ids {
		if o, ok := f.orders[id]; ok {
			out[id] = o
		}
	}
	return out, nil
}
