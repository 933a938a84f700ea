package chhttp

import (
	"crypto/subtle"
	"net/http"
)

// authenticate finds the request's user the ways ClickHouse accepts credentials: the
// X-ClickHouse-User/X-ClickHouse-Key headers, HTTP basic authentication, or the user and
// password URL parameters. Without configured users every request is a writer.
func (s *server) authenticate(r *http.Request) (User, error) {
	if len(s.cfg.Users) == 0 {
		return User{}, nil
	}
	name, password := r.Header.Get("X-ClickHouse-User"), r.Header.Get("X-ClickHouse-Key")
	if name == "" {
		if n, p, ok := r.BasicAuth(); ok {
			name, password = n, p
		}
	}
	if name == "" {
		q := r.URL.Query()
		name, password = q.Get("user"), q.Get("password")
	}
	if name == "" {
		name = "default"
	}
	u, ok := s.cfg.Users[name]
	// Compare even for an unknown user, so that timing does not tell which names exist.
	match := subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1
	if !ok || !match {
		return User{}, &Exception{Code: codeAuthenticationFailed, Name: "AUTHENTICATION_FAILED",
			Message: name + ": Authentication failed: password is incorrect, or there is no user with such name"}
	}
	return u, nil
}
