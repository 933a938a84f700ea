package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
)

// TestQueryEndpointBounded: POST /api/query answers read-only SQL within the store's limits,
// refuses writes and settings changes with 403, and a query over its limits with 400 and
// ClickHouse's reason.
func TestQueryEndpointBounded(t *testing.T) {
	st := testenv.Store(t)
	if err := st.SetQueryLimits(store.QueryLimits{Timeout: time.Second, MaxRows: 10}); err != nil {
		t.Fatal(err)
	}
	h := Handler(Config{Store: st})
	f := func(sql string, code int, body string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/query", strings.NewReader(sql)))
		if rec.Code != code || !strings.Contains(rec.Body.String(), body) {
			t.Errorf("%s: %d %.200q, want %d containing %q", sql, rec.Code, rec.Body.String(), code, body)
		}
	}
	f("SELECT number FROM system.numbers LIMIT 10 FORMAT CSV", http.StatusOK, "9\n")
	f("SELECT number FROM system.numbers LIMIT 11", http.StatusBadRequest, "TOO_MANY_ROWS_OR_BYTES")
	f("SELECT count() FROM system.numbers", http.StatusBadRequest, "TIMEOUT_EXCEEDED")
	f("SELECT 1 SETTINGS max_result_rows = 0", http.StatusForbidden, "READONLY")
	f("INSERT INTO orders SELECT * FROM orders", http.StatusForbidden, "only read-only")
	f("SELECT * FROM file('/etc/passwd', 'LineAsString')", http.StatusForbidden, "only read-only")
}
