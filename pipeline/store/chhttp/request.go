package chhttp

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// request is one parsed HTTP request.
type request struct {
	text            string // the statement to run, settings applied ("" for an insert)
	bare            string // the statement without the URL's settings (for bounded reads)
	format          string // output format handed to the engine when the text has no FORMAT clause
	effectiveFormat string // the format of the answer
	insert          *insert
	data            []byte // the insert's data
	clientRevision  uint64 // client_protocol_version: the Native layout the client decodes
}

// insert is an INSERT whose data is in the body: the statement without its FORMAT clause.
type insert struct {
	statement, format string
}

// notSettings are URL parameters that are not query settings: the HTTP interface's own.
var notSettings = map[string]bool{
	"query": true, "database": true, "default_format": true, "user": true, "password": true,
	"query_id": true, "quota_key": true, "session_id": true, "session_timeout": true, "session_check": true,
	"compress": true, "decompress": true, "client_protocol_version": true, "wait_end_of_query": true,
	"send_progress_in_http_headers": true, "http_headers_progress_interval_ms": true,
	"enable_http_compression": true, "http_zlib_compression_level": true, "buffer_size": true,
	"add_http_cors_header": true, "http_native_compression_disable_checksumming_on_decompress": true,
}

var (
	settingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	numeric     = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	// insertWithFormat is an INSERT whose data follows its FORMAT clause.
	insertWithFormat = regexp.MustCompile(`(?is)^\s*(INSERT\s+INTO\s+.*?)\s+FORMAT\s+([A-Za-z0-9_]+)`)
	// formatClause is a trailing FORMAT clause, possibly followed by SETTINGS.
	formatClause = regexp.MustCompile(`(?is)\bFORMAT\s+([A-Za-z0-9_]+)\s*(SETTINGS\b.*)?$`)
	// takesSettings: statements a trailing SETTINGS clause applies to as query settings (on DDL
	// it would be read as table settings).
	takesSettings = regexp.MustCompile(`(?is)^\s*(\(\s*)*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|EXISTS|INSERT)\b`)
)

func parseRequest(r *http.Request, maxBody int64) (*request, error) {
	params := r.URL.Query()
	if params.Get("compress") == "1" || params.Get("decompress") == "1" {
		return nil, &Exception{Code: codeNotImplemented, Name: "NOT_IMPLEMENTED",
			Message: "ClickHouse block compression (compress=1, decompress=1; clickhouse-go's LZ4 or ZSTD) is not supported by livepulse store: disable compression in the client, or use gzip or deflate"}
	}
	if db := params.Get("database"); db != "" && db != "default" {
		return nil, &Exception{Code: codeUnknownDatabase, Name: "UNKNOWN_DATABASE", Message: fmt.Sprintf("Database %s does not exist: livepulse store serves the database default", db)}
	}
	for k := range params {
		if strings.HasPrefix(k, "param_") {
			return nil, &Exception{Code: codeNotImplemented, Name: "NOT_IMPLEMENTED", Message: "query parameters (" + k + ") are not supported by livepulse store: bind values in the client"}
		}
	}
	body, err := readBody(r, maxBody)
	if err != nil {
		return nil, err
	}
	req := &request{format: params.Get("default_format")}
	if req.format == "" {
		req.format = "TabSeparated"
	}
	if v := params.Get("client_protocol_version"); v != "" {
		if req.clientRevision, err = strconv.ParseUint(v, 10, 64); err != nil {
			return nil, &Exception{Code: codeCannotParseInput, Name: "CANNOT_PARSE_INPUT_ASSERTION_FAILED", Message: "client_protocol_version " + strconv.Quote(v) + " is not a number"}
		}
	}
	settings, err := querySettings(params)
	if err != nil {
		return nil, err
	}

	query := params.Get("query")
	switch {
	case query != "" && len(body) > 0 && insertWithFormat.MatchString(query):
		m := insertWithFormat.FindStringSubmatch(query)
		req.insert, req.data = &insert{statement: m[1] + settings, format: m[2]}, body
		return req, nil
	case query == "" && len(body) > 0:
		if loc := insertWithFormat.FindSubmatchIndex(body); loc != nil {
			req.insert = &insert{statement: string(body[loc[2]:loc[3]]) + settings, format: string(body[loc[4]:loc[5]])}
			req.data = skipOneSpace(body[loc[1]:])
			return req, nil
		}
		query = string(body)
	case len(body) > 0:
		query += "\n" + string(body)
	}
	query = strings.TrimRight(strings.TrimSpace(query), ";")
	req.effectiveFormat = req.format
	if m := formatClause.FindStringSubmatch(query); m != nil {
		req.effectiveFormat = m[1]
	}
	req.bare = query
	if settings != "" && takesSettings.MatchString(query) {
		query += settings
	}
	req.text = query
	return req, nil
}

// querySettings renders the URL parameters that are settings as a SETTINGS clause ("" if none).
func querySettings(params map[string][]string) (string, error) {
	var names []string
	for k := range params {
		if !notSettings[k] && !strings.HasSuffix(k, "_format") && !strings.HasSuffix(k, "_structure") {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		if !settingName.MatchString(k) {
			return "", &Exception{Code: codeUnknownSetting, Name: "UNKNOWN_SETTING", Message: "Unknown setting " + strconv.Quote(k)}
		}
		v := params[k][len(params[k])-1]
		if !numeric.MatchString(v) {
			v = "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
		}
		parts = append(parts, k+" = "+v)
	}
	return " SETTINGS " + strings.Join(parts, ", "), nil
}

// readBody reads the request body, decompressing gzip or deflate (Content-Encoding).
func readBody(r *http.Request, maxBody int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var rd io.Reader = http.MaxBytesReader(nil, r.Body, maxBody)
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, &Exception{Code: codeCannotParseInput, Name: "CANNOT_DECOMPRESS", Message: "cannot read gzip body: " + err.Error()}
		}
		rd = zr
	case "deflate":
		zr, err := zlib.NewReader(rd)
		if err != nil {
			return nil, &Exception{Code: codeCannotParseInput, Name: "CANNOT_DECOMPRESS", Message: "cannot read deflate body: " + err.Error()}
		}
		rd = zr
	default:
		return nil, &Exception{Code: codeNotImplemented, Name: "NOT_IMPLEMENTED", Message: "Content-Encoding " + enc + " is not supported by livepulse store (gzip and deflate are)"}
	}
	body, err := io.ReadAll(io.LimitReader(rd, maxBody+1))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || int64(len(body)) > maxBody {
		return nil, &Exception{Code: codeQueryTooLarge, Name: "QUERY_IS_TOO_LARGE", Message: fmt.Sprintf("request body exceeds %d bytes", maxBody)}
	}
	if err != nil {
		return nil, &Exception{Code: codeCannotParseInput, Name: "CANNOT_READ_ALL_DATA", Message: "cannot read the request body: " + err.Error()}
	}
	return body, nil
}

// skipOneSpace drops the separator between a FORMAT clause and its data.
func skipOneSpace(b []byte) []byte {
	b = bytes.TrimLeft(b, " \t")
	if len(b) > 0 && b[0] == '\r' {
		b = b[1:]
	}
	if len(b) > 0 && b[0] == '\n' {
		b = b[1:]
	}
	return b
}

func contentType(format string) string {
	switch f := strings.ToLower(format); {
	case strings.HasPrefix(f, "json"):
		return "application/json; charset=UTF-8"
	case strings.HasPrefix(f, "csv"):
		return "text/csv; charset=UTF-8; header=absent"
	case strings.HasPrefix(f, "tabseparated"), strings.HasPrefix(f, "tsv"):
		return "text/tab-separated-values; charset=UTF-8"
	case f == "native", strings.HasPrefix(f, "rowbinary"), f == "parquet", f == "arrow", f == "arrowstream", f == "orc":
		return "application/octet-stream"
	}
	return "text/plain; charset=UTF-8"
}
