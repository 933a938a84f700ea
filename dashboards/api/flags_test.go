package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/flags"
	"github.com/livepulse/livepulse/pipeline/testenv"
)

func TestFlagsAPI(t *testing.T) {
	st := testenv.Store(t)
	pub := flags.NewPublisher(flags.Config{}, st)
	defer pub.Close()
	now := time.Date(2026, 11, 11, 12, 0, 0, 0, time.UTC)
	mk := func(id, kind, stream string, detected time.Time) detectors.Flag {
		return detectors.Flag{FlagID: id, Kind: kind, StreamID: stream, Severity: detectors.SeverityCritical, Score: 0.9,
			WindowStart: detected.Add(-time.Minute).UnixMilli(), WindowEnd: detected.UnixMilli(), DetectedAt: detected.UnixMilli(),
			State: "open", Evidence: detectors.Evidence{Summary: "displayed 48,000 viewers; 5,120 measured sessions"}}
	}
	if err := pub.Publish(context.Background(), []detectors.Flag{
		mk("a", "viewer_inflation", "s-1", now.Add(-time.Hour)),
		mk("b", "refund_spike", "s-2", now.Add(-2*time.Hour)),
		mk("old", "refund_spike", "s-2", now.Add(-48*time.Hour)),
	}, ""); err != nil {
		t.Fatal(err)
	}
	// A replay's flags stay apart from the live ones (same flag id, another run).
	if err := pub.Publish(context.Background(), []detectors.Flag{mk("a", "viewer_inflation", "s-1", now.Add(-time.Hour)),
		mk("r", "order_brushing", "s-3", now.Add(-time.Hour))}, "replay-1"); err != nil {
		t.Fatal(err)
	}
	h := Handler(Config{Store: st, Flags: pub.Hub, Now: func() time.Time { return now }, Location: time.UTC})
	f := func(query string, code int, wantIDs ...string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/flags"+query, nil))
		if rec.Code != code {
			t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
		}
		if code != http.StatusOK {
			return
		}
		var body struct {
			Flags []struct {
				FlagID   string `json:"flag_id"`
				Evidence struct {
					Summary string `json:"summary"`
				} `json:"evidence"`
			} `json:"flags"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, fl := range body.Flags {
			got = append(got, fl.FlagID)
			if fl.Evidence.Summary == "" {
				t.Errorf("%s: flag %s without evidence", query, fl.FlagID)
			}
		}
		if len(got) != len(wantIDs) {
			t.Fatalf("%s: flags %v, want %v\n%s", query, got, wantIDs, rec.Body)
		}
		for i := range got {
			if got[i] != wantIDs[i] {
				t.Fatalf("%s: flags %v, want %v", query, got, wantIDs)
			}
		}
	}
	f("", http.StatusOK, "a", "b") // last 24 h, newest first
	f("?since=2026-11-01T00:00:00Z", http.StatusOK, "a", "b", "old")
	f("?kind=refund_spike", http.StatusOK, "b")
	f("?stream_id=s-1", http.StatusOK, "a")
	f("?stream_id='%20OR%201=1%20--", http.StatusOK)
	f("?since=yesterday", http.StatusBadRequest)
	f("?replay=replay-1", http.StatusOK, "a@replay-1", "r@replay-1")
	f("?replay=replay-2", http.StatusOK)
}
