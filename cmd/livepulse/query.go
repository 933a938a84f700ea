package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func runQuery(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	var so storeOptions
	so.register(fs, "livepulse-data")
	format := fs.String("format", "", "output format when the SQL has no FORMAT clause (default TabSeparated)")
	if err := parse(fs, args); err != nil {
		return err
	}
	sql := strings.Join(fs.Args(), " ")
	if sql == "" || sql == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fmt.Errorf("cannot read SQL from stdin: %w", err)
		}
		sql = string(b)
	}
	// The embedded engine admits one process per data directory: ask the instance holding it.
	if so.clickhouse == "" {
		if addr, err := os.ReadFile(filepath.Join(so.dataDir, "livepulse.http")); err == nil {
			out, err := queryInstance(ctx, string(addr), sql, *format)
			if err == nil || !errors.Is(err, errUnreachable) {
				os.Stdout.Write(out)
				return err
			}
		}
	}
	st, err := so.open(ctx, newLogger("warn"))
	if err != nil {
		return err
	}
	defer st.Close()
	out, err := st.QueryReadOnly(ctx, sql, *format)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}

var errUnreachable = errors.New("instance unreachable")

func queryInstance(ctx context.Context, addr, sql, format string) ([]byte, error) {
	u := "http://" + strings.TrimSpace(addr) + "/api/query"
	if format != "" {
		u += "?default_format=" + url.QueryEscape(format)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(sql))
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
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s", strings.TrimSpace(string(body)))
	}
	return body, nil
}
