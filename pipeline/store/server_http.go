package store

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// httpQuerier answers Server.Query over ClickHouse's HTTP interface directly, when the DSN is
// http(s)://: there the server formats the result itself, in any format, byte for byte as the
// embedded engine would, instead of Go re-rendering decoded Native blocks (the native protocol's
// only option). Exec and Insert still go through clickhouse-go.
type httpQuerier struct {
	client   *http.Client
	endpoint url.URL // scheme, host, path and database; no credentials
	user     string
	password string
}

func newHTTPQuerier(opts *clickhouse.Options) *httpQuerier {
	scheme := "http"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if opts.TLS != nil {
		scheme = "https"
		tr.TLSClientConfig = opts.TLS
	}
	u := url.URL{Scheme: scheme, Host: opts.Addr[0], Path: "/" + strings.TrimPrefix(opts.HttpUrlPath, "/")}
	if opts.Auth.Database != "" {
		u.RawQuery = url.Values{"database": {opts.Auth.Database}}.Encode()
	}
	return &httpQuerier{client: &http.Client{Transport: tr}, endpoint: u, user: opts.Auth.Username, password: opts.Auth.Password}
}

// query runs sql; settings travel as URL parameters, as ClickHouse's HTTP interface takes them.
func (q *httpQuerier) query(ctx context.Context, sql, format string, settings clickhouse.Settings) ([]byte, error) {
	if format == "" {
		format = "TabSeparated"
	}
	u := q.endpoint
	params := u.Query()
	params.Set("default_format", format)
	for k, v := range settings {
		if c, ok := v.(clickhouse.CustomSetting); ok {
			v = c.Value
		}
		params.Set(k, fmt.Sprint(v))
	}
	u.RawQuery = params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(sql))
	if err != nil {
		return nil, err
	}
	if q.user != "" {
		req.Header.Set("X-ClickHouse-User", q.user)
		req.Header.Set("X-ClickHouse-Key", q.password)
	}
	resp, err := q.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot query ClickHouse at %s: %w", q.endpoint.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("cannot read ClickHouse's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &ServerError{Code: resp.Header.Get("X-ClickHouse-Exception-Code"), Status: resp.StatusCode, Message: strings.TrimSpace(string(body))}
	}
	return body, nil
}

// ServerError is an exception a ClickHouse server answered over HTTP.
type ServerError struct {
	Code    string // X-ClickHouse-Exception-Code, e.g. "60"
	Status  int    // HTTP status
	Message string // "Code: 60. DB::Exception: …"
}

func (e *ServerError) Error() string { return e.Message }
