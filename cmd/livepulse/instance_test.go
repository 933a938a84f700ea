package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/livepulse/livepulse/dashboards/api"
)

// TestDoInstanceSendsToken: the commands that ask a running instance reach one bound beyond
// loopback (bearer token required) with $LIVEPULSE_TOKEN, and are refused without it.
func TestDoInstanceSendsToken(t *testing.T) {
	srv := httptest.NewServer(api.RequireToken("s3cret", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	f := func(token string, want int) {
		t.Helper()
		t.Setenv("LIVEPULSE_TOKEN", token)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/query", nil)
		resp, err := doInstance(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
	f("", http.StatusUnauthorized)
	f("wrong", http.StatusUnauthorized)
	f("s3cret", http.StatusOK)
}
