package api

import (
	"context"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/schemas"
)

var shanghai = defaultLocation()

// at returns a time on 2026-11-11 (Singles' Day) in Shanghai.
func at(h, m, s int) time.Time { return time.Date(2026, 11, 11, h, m, s, 0, shanghai) }

// The fixture's minutes: M0..M3 are 12:00..12:03 on 2026-11-11, Shanghai time.
var (
	m0, m1, m2, m3 = at(12, 0, 0), at(12, 1, 0), at(12, 2, 0), at(12, 3, 0)
	dayBefore      = time.Date(2026, 11, 10, 23, 59, 0, 0, shanghai) // just before the day
	dayAfter       = time.Date(2026, 11, 12, 0, 0, 0, 0, shanghai)   // exactly the day's end: excluded
	quotedDay      = time.Date(2026, 11, 13, 10, 0, 0, 0, shanghai)
)

// Streams: s1 and s2 are KOL k1's, s3 is k2's; s1 and s3 sell brand b1 on douyin, s2 brand b2 on
// taobao. s4 has data only just outside the day; s5's id and KOL id need quoting.
const quotedStream, quotedKOL = `o'brien\live`, `k'3`

type streamInfo struct{ id, kol, brand, platform string }

var (
	s1 = streamInfo{"s1", "k1", "b1", "douyin"}
	s2 = streamInfo{"s2", "k1", "b2", "taobao"}
	s3 = streamInfo{"s3", "k2", "b1", "douyin"}
	s4 = streamInfo{"s4", "k2", "b3", "kuaishou"}
	s5 = streamInfo{quotedStream, quotedKOL, "b'4", "douyin"}
)

func (s streamInfo) header(id string, ts time.Time) schemas.Header {
	return schemas.Header{EventID: id, TS: ts.UnixMilli(), StreamID: s.id, KOLID: s.kol, BrandID: s.brand, Platform: s.platform}
}

func (s streamInfo) minute(t time.Time, partition int32, version uint64, m metrics.MinuteRow) metrics.MinuteRow {
	m.Minute, m.StreamID, m.Partition, m.KOLID, m.BrandID, m.Platform = t.UnixMilli(), s.id, partition, s.kol, s.brand, s.platform
	m.Version, m.EmittedAt = version, t.Add(time.Minute).UnixMilli()
	return m
}

// seed stores the fixture. Every expected figure in these tests is worked out by hand from it.
func seed(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	insert := func(rows store.Rows) {
		t.Helper()
		if err := st.Insert(ctx, time.Now(), rows); err != nil {
			t.Fatal(err)
		}
	}
	// Rollup rows, one INSERT each so that each is its own part and only FINAL deduplicates them.
	// s1 at M0 is emitted twice, the higher version (150.50) stored BEFORE the lower (100.00);
	// s1 at M1 twice the other way round (50.00, then 99.99). The higher version must win.
	for _, m := range []metrics.MinuteRow{
		s1.minute(m0, 0, 2, metrics.MinuteRow{GMV: 150_50, Orders: 3, Buyers: 2, Joins: 4, Engagements: 2, UniqueViewers: 3,
			ConcurrentViewers: 11, PeakConcurrent: 13, SessionsEnded: 1, WatchMSEnded: 30_000}),
		s1.minute(m0, 0, 1, metrics.MinuteRow{GMV: 100_00, Orders: 2, Buyers: 2, Joins: 3, Engagements: 1, UniqueViewers: 3,
			ConcurrentViewers: 10, PeakConcurrent: 12}),
		// The same stream and minute from partition 1 (a refund read there): added, not replaced.
		s1.minute(m0, 1, 1, metrics.MinuteRow{Refunds: 1, RefundAmount: 20_25, RefundedOrders: 1}),
		s1.minute(m1, 0, 1, metrics.MinuteRow{GMV: 50_00, Orders: 1, Buyers: 1, Joins: 1, ConcurrentViewers: 1, PeakConcurrent: 1}),
		s1.minute(m1, 0, 2, metrics.MinuteRow{GMV: 99_99, Orders: 1, Buyers: 1, Joins: 2, Engagements: 5, UniqueViewers: 4,
			ConcurrentViewers: 40, PeakConcurrent: 50, ReportedViewers: 120, CountEvents: 2, SessionsEnded: 4, WatchMSEnded: 480_000}),
		s1.minute(m3, 0, 1, metrics.MinuteRow{Engagements: 1, UniqueViewers: 2, ConcurrentViewers: 30, PeakConcurrent: 35,
			SessionsEnded: 1, WatchMSEnded: 60_000}),
		// s2 ends at M1: not live at M3.
		s2.minute(m0, 1, 1, metrics.MinuteRow{GMV: 10_01, Orders: 1, Buyers: 1, Joins: 2, UniqueViewers: 2, ConcurrentViewers: 5, PeakConcurrent: 8}),
		s2.minute(m1, 1, 1, metrics.MinuteRow{UniqueViewers: 2, ConcurrentViewers: 7, PeakConcurrent: 9, ReportedViewers: 20, CountEvents: 1}),
		// s3's last displayed count is at M2, one minute before the freshest data: still counted.
		s3.minute(m2, 2, 1, metrics.MinuteRow{GMV: 500_00, Orders: 4, Buyers: 3, Refunds: 2, RefundAmount: 100_00, RefundedOrders: 1,
			UnmatchedRefunds: 1, UnmatchedRefundAmount: 5_00, Joins: 3, Engagements: 6, UniqueViewers: 3,
			ConcurrentViewers: 100, PeakConcurrent: 110, ReportedViewers: 300, CountEvents: 1, SessionsEnded: 2, WatchMSEnded: 90_000}),
		s3.minute(m3, 2, 1, metrics.MinuteRow{Engagements: 2, UniqueViewers: 3, ConcurrentViewers: 90, PeakConcurrent: 95}),
		s4.minute(dayBefore, 0, 1, metrics.MinuteRow{GMV: 1000_00, Orders: 10, Buyers: 1, ConcurrentViewers: 500, PeakConcurrent: 500}),
		s4.minute(dayAfter, 0, 1, metrics.MinuteRow{GMV: 2000_00, Orders: 20, Buyers: 1}),
		s5.minute(quotedDay, 0, 1, metrics.MinuteRow{GMV: 1_00, Orders: 1, Buyers: 1}),
	} {
		insert(metrics.MinuteRows{m})
	}

	src := func(topic string, off int) store.Source { return store.Source{Topic: topic, Offset: int64(off)} }
	order := func(s streamInfo, id, buyer string, ts time.Time, late bool) store.OrderRow {
		return store.OrderRow{Src: src("livepulse.order", len(id)), Late: late,
			Ev: schemas.Order{Header: s.header("e-"+id, ts), OrderID: id, BuyerID: buyer, Quantity: 1, Amount: 1_00, Currency: "CNY"}}
	}
	insert(store.OrderRows{
		order(s1, "o1", "u1", at(12, 0, 10), false),
		order(s1, "o2", "u2", at(12, 0, 20), false),
		order(s1, "o3", "u1", at(12, 0, 30), false), // u1 again
		order(s1, "o4", "u3", at(12, 1, 5), false),
		order(s1, "o5", "u9", at(12, 1, 30), true),  // late: not a buyer
		order(s2, "o6", "u1", at(12, 0, 40), false), // u1 in another stream of the same KOL
		order(s3, "o7", "u4", at(12, 2, 1), false),
		order(s3, "o8", "u5", at(12, 2, 2), false),
		order(s3, "o9", "u4", at(12, 2, 3), false),
		order(s3, "o10", "u6", at(12, 2, 4), false),
		order(s4, "o11", "u7", dayBefore.Add(30*time.Second), false),
		order(s4, "o12", "u8", dayAfter, false),
		order(s5, "o13", "u1", quotedDay, false),
	})
	viewer := func(s streamInfo, id string, a schemas.Action, who string, ts time.Time, late bool) store.ViewerRow {
		v := schemas.Viewer{Header: s.header(id, ts), Action: a, ViewerID: who}
		if a == schemas.ActionCount {
			v.ReportedViewers = 99
		}
		return store.ViewerRow{Src: src("livepulse.viewer", len(id)), Ev: v, Late: late}
	}
	insert(store.ViewerRows{
		viewer(s1, "v-1", schemas.ActionJoin, "v1", at(12, 0, 1), false),
		viewer(s1, "v-2", schemas.ActionJoin, "v2", at(12, 0, 2), false),
		viewer(s1, "v-3", schemas.ActionHeartbeat, "v1", at(12, 0, 30), false),
		viewer(s1, "v-4", schemas.ActionEngage, "v3", at(12, 1, 0), false),
		viewer(s1, "v-5", schemas.ActionCount, "", at(12, 1, 10), false), // no viewer
		viewer(s1, "v-6", schemas.ActionJoin, "v8", at(12, 0, 5), true),  // late: not a viewer
		viewer(s2, "v-7", schemas.ActionJoin, "v1", at(12, 0, 3), false),
		viewer(s2, "v-8", schemas.ActionJoin, "v4", at(12, 0, 4), false),
		viewer(s2, "v-9", schemas.ActionCount, "", at(12, 1, 0), false),
		viewer(s3, "v-10", schemas.ActionJoin, "v5", at(12, 2, 0), false),
		viewer(s3, "v-11", schemas.ActionJoin, "v6", at(12, 2, 0), false),
		viewer(s3, "v-12", schemas.ActionJoin, "v7", at(12, 2, 0), false),
		viewer(s3, "v-13", schemas.ActionEngage, "v5", at(12, 2, 10), false),
		viewer(s4, "v-14", schemas.ActionJoin, "v9", dayBefore.Add(59*time.Second), false),
	})
	insert(store.RefundRows{
		{Src: src("livepulse.refund", 1), Ev: schemas.Refund{Header: s1.header("r-1", at(12, 0, 50)), RefundID: "r1", OrderID: "o1", Amount: 20_25}},
		{Src: src("livepulse.refund", 2), Late: true, Ev: schemas.Refund{Header: s3.header("r-2", at(12, 2, 30)), RefundID: "r2", OrderID: "o7", Amount: 1_00}},
	})
}
