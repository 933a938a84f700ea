package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
)

// auditFormats maps ?format= to the writer and content type of each export.
var auditFormats = map[string]struct {
	contentType string
	write       func(*bytes.Buffer, *AuditReport) error
}{
	"table":   {"text/plain; charset=utf-8", WriteAuditTable},
	"csv":     {"text/csv; charset=utf-8", WriteAuditCSV},
	"parquet": {"application/vnd.apache.parquet", WriteAuditParquet},
}

// serveAudit is GET /api/audit?kol=&brand=&from=&to=&format=json|table|csv|parquet: the
// scorecard of a KOL, or the brand's KOLs side by side (see AuditReport). kol or brand is required.
func (a *liveAPI) serveAudit(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	req := auditRequest{kolID: qs.Get("kol"), brandID: qs.Get("brand")}
	if req.kolID == "" && req.brandID == "" {
		writeError(w, http.StatusBadRequest, "bad request: kol or brand is required")
		return
	}
	if len(req.kolID) > maxIDBytes || len(req.brandID) > maxIDBytes {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad id: longer than %d bytes", maxIDBytes))
		return
	}
	format := qs.Get("format")
	export, known := auditFormats[format]
	if !known && format != "" && format != "json" {
		writeError(w, http.StatusBadRequest, "bad format: want json, table, csv or parquet")
		return
	}
	var err error
	if req.r, err = a.parseRange(r); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.queryTimeout)
	defer cancel()
	rep, err := a.q.audit(ctx, req)
	switch {
	case errors.Is(err, ErrNoAuditData):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no data for kol %q brand %q from %s to %s",
			req.kolID, req.brandID, a.q.formatTime(req.r.from), a.q.formatTime(req.r.to)))
		return
	case err != nil:
		a.storeFailed(w, r, err)
		return
	case !known:
		writeJSON(w, http.StatusOK, rep)
		return
	}
	var buf bytes.Buffer
	if err := export.write(&buf, rep); err != nil {
		a.log.Warn("cannot write the audit export", "format", format, "err", err)
		writeError(w, http.StatusInternalServerError, "cannot write the "+format+" export")
		return
	}
	w.Header().Set("Content-Type", export.contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
