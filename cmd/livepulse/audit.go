package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/livepulse/livepulse/dashboards/api"
)

// runAudit prints a KOL audit. It asks GET /api/audit of the running instance that holds the
// data directory, or serves the same request in process against the store: the figures are
// those of the board's KOL view either way.
func runAudit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	var so storeOptions
	so.register(fs, "livepulse-data")
	kol := fs.String("kol", "", "KOL id to audit (required unless --brand is given)")
	brand := fs.String("brand", "", "brand id: its KOLs side by side, each counted on the brand's streams only")
	from := fs.String("from", "", "start: a date (2006-01-02, midnight in --timezone) or an RFC 3339 time (default: today)")
	to := fs.String("to", "", "end, exclusive: a date or an RFC 3339 time (default: the end of from's day)")
	format := fs.String("format", "table", "table, csv, json or parquet")
	out := fs.String("out", "-", "file to write, - for stdout")
	var loc *time.Location
	fs.Func("timezone", "time zone of dates without a time, when no instance runs (default Asia/Shanghai; a running instance uses its own)", func(name string) (err error) {
		loc, err = time.LoadLocation(name)
		return err
	})
	if err := parse(fs, args); err != nil {
		return err
	}
	if *kol == "" && *brand == "" {
		return errors.New("--kol or --brand is required")
	}
	q := url.Values{"format": {*format}}
	for k, v := range map[string]string{"kol": *kol, "brand": *brand, "from": *from, "to": *to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	target := "/api/audit?" + q.Encode()

	body, err := auditFromInstance(ctx, so, target)
	if errors.Is(err, errUnreachable) {
		body, err = auditInProcess(ctx, so, loc, target)
	}
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err = os.Stdout.Write(body)
		return err
	}
	return os.WriteFile(*out, body, 0o644)
}

// auditFromInstance asks the instance recorded in the data directory; errUnreachable when none
// answers.
func auditFromInstance(ctx context.Context, so storeOptions, target string) ([]byte, error) {
	if so.clickhouse != "" {
		return nil, errUnreachable // a server store is opened directly: it admits any number of readers
	}
	addr, err := os.ReadFile(filepath.Join(so.dataDir, "livepulse.http"))
	if err != nil {
		return nil, errUnreachable
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+strings.TrimSpace(string(addr))+target, nil)
	if err != nil {
		return nil, err
	}
	resp, err := doInstance(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("cannot read the audit: %w", err)
	}
	return body, auditStatus(resp.StatusCode, body)
}

// auditInProcess serves the request with the API's own handler against the store.
func auditInProcess(ctx context.Context, so storeOptions, loc *time.Location, target string) ([]byte, error) {
	st, err := so.open(ctx, newLogger("warn"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rec := httptest.NewRecorder()
	api.Handler(api.Config{Store: st, Location: loc}).ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil))
	return rec.Body.Bytes(), auditStatus(rec.Code, rec.Body.Bytes())
}

// auditStatus turns an error response into an error carrying the API's message.
func auditStatus(code int, body []byte) error {
	if code == http.StatusOK {
		return nil
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return errors.New(e.Error)
	}
	return fmt.Errorf("audit failed: HTTP %d", code)
}
