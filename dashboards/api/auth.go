package api

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// ErrTokenRequired is returned when the HTTP server would listen beyond loopback without a token.
var ErrTokenRequired = errors.New("listening beyond 127.0.0.1 needs a bearer token: set LIVEPULSE_TOKEN or --token-file")

// IsLoopback reports whether addr (host:port) only accepts local connections.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoadToken reads the bearer token from file (if set) or the environment variable
// LIVEPULSE_TOKEN; "" when neither is set.
func LoadToken(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("cannot read token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("token file %s is empty", file)
		}
		return tok, nil
	}
	return strings.TrimSpace(os.Getenv("LIVEPULSE_TOKEN")), nil
}

// RequireToken wraps h so that every request but GET /healthz must carry
// "Authorization: Bearer <token>", or the board's sign-in cookie (see login.go). The comparison
// is constant-time; the token is never logged. A browser asking for the board without either is
// sent to /login.
func RequireToken(token string, h http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			h.ServeHTTP(w, r)
			return
		case "/login":
			serveLogin([]byte(token), w, r)
			return
		}
		cookie := ""
		if c, err := r.Cookie(tokenCookie); err == nil {
			cookie = "Bearer " + c.Value
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 &&
			subtle.ConstantTimeCompare([]byte(cookie), want) != 1 {
			if r.URL.Path == "/" && r.Method == http.MethodGet {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="livepulse"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
