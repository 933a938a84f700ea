// Package web is livepulse's built-in board: an executive view (the live GMV ticker, GMV per
// minute, top KOLs and streams, the platform split, open flags), a KOL audit view (/api/audit)
// and a trust-and-safety view (flags live, with a drill-down chart of the stream). Plain HTML,
// CSS and JavaScript embedded in the binary, charts drawn as SVG by static/chart.js: no CDN, no
// build step, nothing fetched at run time but the API.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the board: index.html at /, the other assets by name.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil { // the embed directive above guarantees the directory
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The board talks to its own origin only; the CSP makes that a rule the browser enforces.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache") // revalidate: a new binary serves new assets at once
		files.ServeHTTP(w, r)
	})
}
