package rollup_test

import (
	"context"
	"testing"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/rollup"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// TestLookupHistory: a KOL's and a brand's history is their orders of the days before the day,
// and which of them were first refunded within the window; the day itself, older days, late
// rows and other KOLs do not count.
func TestLookupHistory(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)
	past := day.Add(-6 * 24 * time.Hour)
	var off int64
	order := func(id, kol string, at time.Time, late bool) store.OrderRow {
		off++
		return store.OrderRow{Src: store.Source{Topic: "livepulse.order", Offset: off}, Late: late,
			Ev: schemas.Order{Header: schemas.Header{EventID: "e-" + id, TS: at.UnixMilli(), StreamID: "s-" + kol, KOLID: kol, BrandID: "b1"},
				OrderID: id, BuyerID: "u", Quantity: 1, Amount: 1_00, Currency: "CNY"}}
	}
	refund := func(orderID string, at time.Time) store.RefundRow {
		off++
		return store.RefundRow{Src: store.Source{Topic: "livepulse.refund", Offset: off},
			Ev: schemas.Refund{Header: schemas.Header{EventID: "r-" + orderID + at.String(), TS: at.UnixMilli(), StreamID: "s"}, RefundID: "r", OrderID: orderID, Amount: 1_00}}
	}
	orders := store.OrderRows{
		order("o1", "k1", past, false),                      // refunded after 10 min: counts
		order("o2", "k1", past.Add(time.Hour), false),       // refunded after 2 h: not within 30 min
		order("o3", "k1", past.Add(2*time.Hour), false),     // not refunded
		order("o4", "k1", past.Add(3*time.Hour), false),     // refunded twice, first after 5 min
		order("o5", "k1", day.Add(time.Hour), false),        // the day itself: not history
		order("o6", "k1", day.Add(-40*24*time.Hour), false), // older than 30 days
		order("o7", "k1", past.Add(4*time.Hour), true),      // stored late: not counted anywhere
		order("o8", "k2", past.Add(5*time.Hour), false),     // another KOL of the brand
	}
	refunds := store.RefundRows{
		refund("o1", past.Add(10*time.Minute)),
		refund("o2", past.Add(3*time.Hour)),
		refund("o4", past.Add(3*time.Hour+40*time.Minute)),
		refund("o4", past.Add(3*time.Hour+5*time.Minute)),
		refund("o5", day.Add(time.Hour+time.Minute)),
	}
	// The audience: minute rows (the highest version of a minute wins).
	minute := func(kol string, at time.Time, viewers, engagements, version uint64) metrics.MinuteRow {
		return metrics.MinuteRow{Minute: at.UnixMilli(), StreamID: "s-" + kol, KOLID: kol, BrandID: "b1",
			ConcurrentViewers: viewers, Engagements: engagements, Version: version}
	}
	minutes := metrics.MinuteRows{
		minute("k1", past, 100, 999, 1),                        // superseded by version 2
		minute("k1", past, 100, 40, 2),                         // counts
		minute("k1", past.Add(time.Minute), 300, 20, 1),        // counts
		minute("k1", day.Add(time.Minute), 5000, 5000, 1),      // the day itself: not history
		minute("k1", day.Add(-40*24*time.Hour), 5000, 5000, 1), // older than 30 days
		minute("k2", past, 50, 10, 1),                          // another KOL of the brand
	}
	for _, rows := range []store.Rows{orders, refunds, minutes} {
		if err := st.Insert(ctx, time.Now(), rows); err != nil {
			t.Fatal(err)
		}
	}
	d := day.UnixMilli()
	keys := []detectors.HistoryKey{
		{Scope: detectors.ScopeKOL, ID: "k1", Day: d},
		{Scope: detectors.ScopeKOL, ID: "nobody", Day: d},
		{Scope: detectors.ScopeBrand, ID: "b1", Day: d},
		{Scope: detectors.ScopeKOL, ID: "k1", Day: d + 24*60*60*1000}, // the next day: o5 joins, refunded within a minute
	}
	got, err := rollup.LookupHistory(ctx, st, keys, 30, (30 * time.Minute).Milliseconds())
	if err != nil {
		t.Fatal(err)
	}
	want := []detectors.History{
		{Orders: 4, Refunded: 2, ViewerMinutes: 400, Engagements: 60},
		{},
		{Orders: 5, Refunded: 2, ViewerMinutes: 450, Engagements: 70},
		{Orders: 5, Refunded: 3, ViewerMinutes: 5400, Engagements: 5060},
	}
	for i, k := range keys {
		if got[k] != want[i] {
			t.Errorf("%+v: %+v, want %+v", k, got[k], want[i])
		}
	}
}
