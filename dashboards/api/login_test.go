package api

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestBoardSignIn: beyond loopback a browser signs in once with the token (POST /login), then
// its cookie opens the board and the API; a wrong token or a forged cookie opens nothing.
func TestBoardSignIn(t *testing.T) {
	h := RequireToken("s3cret", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	do := func(method, path, body string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := do(http.MethodGet, "/", ""); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Errorf("board without token: %d to %q, want a redirect to /login", rec.Code, rec.Header().Get("Location"))
	}
	if rec := do(http.MethodGet, "/login", ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `name="token"`) {
		t.Errorf("GET /login: %d %s", rec.Code, rec.Body)
	}
	if rec := do(http.MethodPost, "/login", "token=wrong"); rec.Code != http.StatusUnauthorized || len(rec.Result().Cookies()) != 0 {
		t.Errorf("wrong token: %d, cookies %v", rec.Code, rec.Result().Cookies())
	}
	rec := do(http.MethodPost, "/login", "token="+url.QueryEscape("s3cret"))
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign-in: %d, cookies %+v", rec.Code, cookies)
	}
	for _, path := range []string{"/", "/api/live", "/api/live/stream", "/app.js"} {
		if rec := do(http.MethodGet, path, "", cookies[0]); rec.Code != http.StatusTeapot {
			t.Errorf("%s with the cookie: %d", path, rec.Code)
		}
	}
	forged := &http.Cookie{Name: tokenCookie, Value: "guess"}
	if rec := do(http.MethodGet, "/api/live", "", forged); rec.Code != http.StatusUnauthorized {
		t.Errorf("forged cookie: %d", rec.Code)
	}
}
