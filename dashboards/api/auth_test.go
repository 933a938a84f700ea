package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	f := func(addr string, want bool) {
		t.Helper()
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
	f("127.0.0.1:8080", true)
	f("[::1]:8080", true)
	f("localhost:8080", true)
	f("0.0.0.0:8080", false)
	f(":8080", false)
	f("10.1.2.3:8080", false)
	f("garbage", false)
}

func TestRequireToken(t *testing.T) {
	h := RequireToken("s3cret", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	f := func(path, auth string, want int) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s with %q: %d, want %d", path, auth, rec.Code, want)
		}
	}
	f("/healthz", "", http.StatusTeapot)
	f("/metrics", "", http.StatusUnauthorized)
	f("/api/live", "Bearer wrong", http.StatusUnauthorized)
	f("/api/live", "s3cret", http.StatusUnauthorized)
	f("/api/live", "Bearer s3cret", http.StatusTeapot)
}
