package main

import (
	"net/http"
	"os"
	"strings"
)

// doInstance sends req to the running instance that holds the data directory (`livepulse query`,
// `audit`, `replay`), with the bearer token from $LIVEPULSE_TOKEN when set: an instance bound
// beyond loopback requires it on every endpoint but /healthz.
func doInstance(req *http.Request) (*http.Response, error) {
	if tok := strings.TrimSpace(os.Getenv("LIVEPULSE_TOKEN")); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return http.DefaultClient.Do(req)
}
