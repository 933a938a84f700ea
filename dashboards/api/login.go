package api

import (
	"crypto/subtle"
	"html/template"
	"net/http"
	"strings"
)

// The board in a browser cannot set an Authorization header on page loads or EventSource
// streams, so beyond loopback it signs in once: POST /login with the token sets it as an
// HttpOnly, SameSite=Strict cookie that RequireToken accepts like the header. The token never
// travels in a URL (where logs and browser history would keep it).

// tokenCookie names the cookie holding the bearer token.
const tokenCookie = "livepulse_token"

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>livepulse · sign in</title><link rel="icon" href="data:,">
<style>
body{margin:0;min-height:100vh;display:grid;place-items:center;background:#0b1020;color:#e6e9f2;font:16px system-ui,sans-serif}
form{background:#141b2f;padding:2rem 2.5rem;border-radius:12px;border:1px solid #263154;min-width:20rem}
h1{margin:0 0 1rem;font-size:1.4rem} h1 span{color:#ff5c7a}
input{width:100%;box-sizing:border-box;padding:.6rem;border-radius:6px;border:1px solid #33406a;background:#0b1020;color:inherit;font:inherit}
button{margin-top:1rem;width:100%;padding:.6rem;border:0;border-radius:6px;background:#ff5c7a;color:#fff;font:inherit;font-weight:600;cursor:pointer}
p.err{color:#ff8a8a}
</style></head><body>
<form method="post" action="/login"><h1>live<span>pulse</span> board</h1>
{{if .}}<p class="err">{{.}}</p>{{end}}
<label for="token">Bearer token</label><input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<button type="submit">Sign in</button></form></body></html>`))

// serveLogin answers GET /login with the form and POST /login by checking the token.
func serveLogin(want []byte, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet:
		loginPage.Execute(w, "")
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		tok := strings.TrimSpace(r.PostFormValue("token"))
		if subtle.ConstantTimeCompare([]byte(tok), want) != 1 {
			w.WriteHeader(http.StatusUnauthorized)
			loginPage.Execute(w, "Wrong token.")
			return
		}
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: tok, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 7 * 24 * 3600})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
