package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// TestReplayAPI: POST /api/replay re-runs the detectors over stored events with the thresholds
// in its body, and the run's flags are apart from the live ones.
func TestReplayAPI(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	s := streamInfo{"spiky", "k9", "b9", "douyin"}
	// 20 orders a minute apart from 12:00, 18 of them refunded 30 s after: a refund spike.
	var orders store.OrderRows
	var refunds store.RefundRows
	for i := range 20 {
		ts := at(12, i, 0)
		id := fmt.Sprintf("o%d", i)
		orders = append(orders, store.OrderRow{Src: store.Source{Topic: "livepulse.order", Offset: int64(i)},
			Ev: schemas.Order{Header: s.header("e-"+id, ts), OrderID: id, BuyerID: fmt.Sprintf("u%d", i), Quantity: 1, Amount: 10_00, Currency: "CNY"}})
		if i < 18 {
			refunds = append(refunds, store.RefundRow{Src: store.Source{Topic: "livepulse.refund", Offset: int64(i)},
				Ev: schemas.Refund{Header: s.header("r-"+id, ts.Add(30*time.Second)), RefundID: "r" + id, OrderID: id, Amount: 10_00}})
		}
	}
	for _, rows := range []store.Rows{orders, refunds} {
		if err := st.Insert(ctx, time.Now(), rows); err != nil {
			t.Fatal(err)
		}
	}
	h := Handler(Config{Store: st, Location: shanghai, Now: func() time.Time { return at(13, 0, 0) }})
	post := func(query, body string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/replay?"+query, strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	rangeQ := "from=2026-11-11T12:00:00%2B08:00&to=2026-11-11T12:40:00%2B08:00"
	f := func(query, body string, code int, wantFlags int) {
		t.Helper()
		got, out := post(query, body)
		if got != code {
			t.Fatalf("%s: %d %s", query, got, out)
		}
		if code != http.StatusOK {
			return
		}
		var rep struct {
			ID     string `json:"replay_id"`
			Events int    `json:"events"`
			Flags  int    `json:"flags"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Events != 38 || rep.Flags != wantFlags {
			t.Fatalf("%s: report %s, want 38 events and %d flags", query, out, wantFlags)
		}
		var listed struct {
			Since string           `json:"since"`
			Flags []map[string]any `json:"flags"`
		}
		getJSON(t, h, "/api/flags?since=2026-11-11T00:00:00Z&replay="+rep.ID, &listed)
		if len(listed.Flags) != wantFlags {
			t.Fatalf("%d flags listed for %s, want %d", len(listed.Flags), rep.ID, wantFlags)
		}
		for _, fl := range listed.Flags {
			id, _ := fl["flag_id"].(string)
			if fl["kind"] != "refund_spike" || fl["stream_id"] != "spiky" || fl["replay_id"] != rep.ID || fl["replayed"] != true ||
				!strings.HasSuffix(id, "@"+rep.ID) {
				t.Errorf("unexpected replayed flag %+v", fl)
			}
		}
	}
	f(rangeQ+"&id=defaults", "", http.StatusOK, 1)
	f(rangeQ+"&id=no-refund-detector", "refund_spike:\n  enabled: false\n", http.StatusOK, 0)
	f(rangeQ, "refund_spike:\n  rate: 2\n", http.StatusBadRequest, 0) // out of range
	f(rangeQ, "refund_spike:\n  no_such_key: 1\n", http.StatusBadRequest, 0)
	f("from=2026-11-11T12:40:00Z&to=2026-11-11T12:00:00Z", "", http.StatusBadRequest, 0)
	f("from=yesterday&to=2026-11-11T12:00:00Z", "", http.StatusBadRequest, 0)
	// The live flags are untouched: there were none, and there are none.
	var live struct {
		Since string `json:"since"`
		Flags []any  `json:"flags"`
	}
	getJSON(t, h, "/api/flags?since=2026-11-11T00:00:00Z", &live)
	if len(live.Flags) != 0 {
		t.Errorf("replays leaked %d flags into the live ones", len(live.Flags))
	}
}
