package api

import (
	"net/http"
	"testing"

	"github.com/livepulse/livepulse/pipeline/testenv"
)

// TestLiveMinutes: the platform's minute series is every stream's rows of the day summed, the
// highest version of a re-emitted row counted once (worked out by hand from the fixture).
func TestLiveMinutes(t *testing.T) {
	st := testenv.Store(t)
	seed(t, st)
	h := Handler(Config{Store: st})
	var got MinuteSeries
	getJSON(t, h, "/api/live/minutes?"+day, &got)
	eq(t, "series", got, MinuteSeries{From: "2026-11-11T00:00:00+08:00", To: "2026-11-12T00:00:00+08:00", Minutes: []MinutePoint{
		// s1 (version 2, and partition 1's refund) + s2.
		{Minute: "2026-11-11T12:00:00+08:00", GMV: 150_50 + 10_01, Orders: 3 + 1, Buyers: 2 + 1, Refunds: 1, RefundAmount: 20_25,
			Joins: 4 + 2, UniqueViewers: 3 + 2, ConcurrentViewers: 11 + 5, PeakConcurrentViewers: 13 + 8, Engagements: 2},
		{Minute: "2026-11-11T12:01:00+08:00", GMV: 99_99, Orders: 1, Buyers: 1, Joins: 2, UniqueViewers: 4 + 2,
			ConcurrentViewers: 40 + 7, PeakConcurrentViewers: 50 + 9, ReportedViewers: 120 + 20, Engagements: 5},
		{Minute: "2026-11-11T12:02:00+08:00", GMV: 500_00, Orders: 4, Buyers: 3, Refunds: 2, RefundAmount: 100_00, Joins: 3,
			UniqueViewers: 3, ConcurrentViewers: 100, PeakConcurrentViewers: 110, ReportedViewers: 300, Engagements: 6},
		{Minute: "2026-11-11T12:03:00+08:00", UniqueViewers: 2 + 3, ConcurrentViewers: 30 + 90, PeakConcurrentViewers: 35 + 95, Engagements: 1 + 2},
	}})
	var empty MinuteSeries
	getJSON(t, h, "/api/live/minutes?from=2026-11-20", &empty)
	eq(t, "empty day", len(empty.Minutes), 0)
	wantError(t, h, "/api/live/minutes?from=x", http.StatusBadRequest, "bad from")
}
