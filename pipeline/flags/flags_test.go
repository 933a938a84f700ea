package flags_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/flags"
	"github.com/livepulse/livepulse/pipeline/testenv"
)

// TestPublish: an episode's emissions (open, then closed) leave one row in anomaly_flags, the
// last; every emission reaches live subscribers and the webhook.
func TestPublish(t *testing.T) {
	st := testenv.Store(t)
	var mu sync.Mutex
	var hooked []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hooked = append(hooked, string(b))
		mu.Unlock()
	}))
	defer hook.Close()
	p := flags.NewPublisher(flags.Config{Webhooks: []string{hook.URL}}, st)
	defer p.Close()
	sub, unsubscribe := p.Hub.Subscribe()
	defer unsubscribe()

	f := detectors.Flag{FlagID: "f-1", Kind: "refund_spike", StreamID: "s-1", KOLID: "k-1", Severity: detectors.SeverityWarning,
		Score: 0.7, WindowStart: 1_000, WindowEnd: 61_000, DetectedAt: 61_000, State: "open",
		Evidence: detectors.Evidence{Summary: "40 of 50 orders refunded", Fired: []string{"rate"}, Signals: map[string]float64{"rate": 0.8}}}
	ctx := context.Background()
	if err := p.Publish(ctx, []detectors.Flag{f}, ""); err != nil {
		t.Fatal(err)
	}
	f.State, f.DetectedAt = "closed", 121_000
	if err := p.Publish(ctx, []detectors.Flag{f}, ""); err != nil {
		t.Fatal(err)
	}
	out, err := st.Backend().Query(ctx, "SELECT flag_id, state, summary, JSONExtractFloat(evidence, 'signals', 'rate') FROM anomaly_flags FINAL", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "f-1\tclosed\t40 of 50 orders refunded\t0.8" {
		t.Errorf("stored %q, want the closed emission only", got)
	}
	for _, want := range []string{`"state":"open"`, `"state":"closed"`} {
		select {
		case b := <-sub:
			if !strings.Contains(string(b), want) {
				t.Errorf("subscriber got %s, want %s", b, want)
			}
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Errorf("not JSON: %s", b)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("subscriber got nothing")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(hooked)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook received %d emissions, want 2", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
