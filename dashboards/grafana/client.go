package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Errors of livepulse's API, told apart so that a query can answer "no data" for a 404 and a
// health check can name a refused token.
var (
	ErrUnauthorized = errors.New("livepulse refused the bearer token")
	ErrNotFound     = errors.New("livepulse has no data for this")
)

// APIError is a non-2xx answer of livepulse's API other than 401 and 404.
type APIError struct {
	Status  int
	Message string // the {"error": …} message, or the body's first line
}

func (e *APIError) Error() string {
	return fmt.Sprintf("livepulse answered %d: %s", e.Status, e.Message)
}

// client calls livepulse's HTTP API. The token goes only into the Authorization header; it is
// never part of an error or a log line.
type client struct {
	base    string
	token   string
	timeout time.Duration
	http    *http.Client
}

// maxResponseBytes bounds a response the plugin reads into memory.
const maxResponseBytes = 64 << 20

func (c *client) newRequest(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("cannot build request: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends req and returns the body of a 2xx answer, or a typed error.
func (c *client) do(req *http.Request) ([]byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach livepulse at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("cannot read livepulse's answer to %s: %w", req.URL.Path, err)
	}
	if resp.StatusCode/100 == 2 {
		return body, nil
	}
	return nil, statusError(resp.StatusCode, body)
}

func statusError(code int, body []byte) error {
	switch code {
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusNotFound:
		return ErrNotFound
	}
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	} else if first, _, _ := strings.Cut(msg, "\n"); len(first) <= 200 {
		msg = first
	} else {
		msg = first[:200] + "…"
	}
	return &APIError{Status: code, Message: msg}
}

// getJSON GETs path and decodes the JSON answer into v.
func (c *client) getJSON(ctx context.Context, path string, query url.Values, v any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	body, err := c.do(req)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("cannot decode livepulse's answer to %s: %w", path, err)
	}
	return nil
}
