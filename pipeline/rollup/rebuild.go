package rollup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/schemas"
)

// sessionHistory bounds how far back rebuild looks for the start of a session still open at the
// start of its context: a longer session is counted from there.
const sessionHistory = 24 * time.Hour

// rebuild creates partition part's shard from the store: the events of its open minutes, plus a
// session timeout of earlier events so sessions that were open are known. It returns the first
// minute still to be written (earlier ones were final before; math.MinInt64: all).
func (p *Processor) rebuild(ctx context.Context, part int32, det *detectors.Engine) (*metrics.Shard, int64, error) {
	shard := metrics.NewShard(part, p.cfg.Metrics, p.lookupOrders)
	out, err := p.st.Backend().Query(ctx, fmt.Sprintf(
		"SELECT count(), toUnixTimestamp64Milli(argMax(watermark, version)) FROM rollup_progress WHERE kafka_partition = %d", part), "TabSeparated")
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read rollup progress: %w", err)
	}
	var n, w int64
	if _, err := fmt.Sscanf(string(out), "%d\t%d", &n, &w); err != nil {
		return nil, 0, fmt.Errorf("cannot parse rollup progress %q: %w", out, err)
	}
	emitFrom, warmStart := int64(math.MinInt64), int64(0)
	if n > 0 {
		emitFrom = firstOpenMinute(w, p.cfg.Metrics.AllowedLateness)
		warmStart = emitFrom - p.cfg.Metrics.SessionTimeout.Milliseconds() - time.Minute.Milliseconds()
	}
	rng := store.EventRange{Partition: part, From: warmStart, To: math.MaxInt64}
	if n > 0 {
		// Sessions open at warmStart began earlier: their earlier events (within sessionHistory)
		// come too, so their watch time counts from their real start.
		rng.OpenSessionsFrom, rng.OpenSessionsSpan = warmStart-sessionHistory.Milliseconds(), p.cfg.Metrics.SessionTimeout.Milliseconds()
	}
	events, err := p.st.ReadEvents(ctx, rng)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot rebuild partition %d: %w", part, err)
	}
	for i := range events {
		shard.Add(&events[i], math.MinInt64) // stored with late = 0: never late
		// The detectors get the context they always had, not the sessions' earlier events.
		if det != nil && events[i].Header().TS >= warmStart {
			det.Observe(&events[i])
		}
	}
	if len(events) > 0 {
		p.cfg.Logger.Info("rebuilt open minutes from the store", "partition", part, "events", len(events), "emit_from", time.UnixMilli(emitFrom).UTC())
	}
	return shard, emitFrom, nil
}

// lookupOrders finds orders that are not in a shard's memory (placed hours ago, before a restart,
// or on another partition) for refund attribution.
func (p *Processor) lookupOrders(ctx context.Context, ids []string) (map[string]metrics.OrderRef, error) {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = quote(id)
	}
	q := `SELECT order_id, stream_id, kol_id, brand_id, platform, toString(amount) AS amount, toUnixTimestamp64Milli(ts) AS ts
FROM orders WHERE order_id IN (` + strings.Join(quoted, ", ") + `) AND late = 0
LIMIT 1 BY order_id
SETTINGS output_format_json_quote_64bit_integers = 0`
	out, err := p.st.Backend().Query(ctx, q, "JSONEachRow")
	if err != nil {
		return nil, fmt.Errorf("cannot look up %d orders: %w", len(ids), err)
	}
	res := make(map[string]metrics.OrderRef, len(ids))
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r struct {
			OrderID  string `json:"order_id"`
			StreamID string `json:"stream_id"`
			KOLID    string `json:"kol_id"`
			BrandID  string `json:"brand_id"`
			Platform string `json:"platform"`
			Amount   string `json:"amount"`
			TS       int64  `json:"ts"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("cannot parse order lookup row: %w", err)
		}
		amount, err := schemas.ParseMoney(r.Amount)
		if err != nil {
			return nil, fmt.Errorf("cannot parse stored amount %q: %w", r.Amount, err)
		}
		res[r.OrderID] = metrics.OrderRef{StreamID: r.StreamID, KOLID: r.KOLID, BrandID: r.BrandID, Platform: r.Platform, Amount: amount, TS: r.TS}
	}
	return res, nil
}

// quote returns s as a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
