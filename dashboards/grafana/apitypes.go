package grafana

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The parts of livepulse's API responses (dashboards/api) the plugin turns into frames. They are
// declared here rather than imported: dashboards/api links the store and its cgo engine, which a
// plugin binary (built with CGO_ENABLED=0 for Grafana's image) must not carry. The tests decode
// the real server's answers, so a renamed field shows up as a changed golden frame.

// money is an amount the API writes as a decimal string with two fraction digits ("1234.50").
// Frames carry it as float64 units: data frames have no decimal type. ParseFloat returns the
// double nearest the decimal, which prints back to the same cents up to 2^53 cents.
type money float64

func (m *money) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("money must be a decimal string, got %s", b)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("money must be a decimal string, got %q", s)
	}
	*m = money(v)
	return nil
}

// apiTime is an RFC 3339 time as the API writes it.
type apiTime struct{ time.Time }

func (t *apiTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time must be an RFC 3339 string, got %s", b)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

type figures struct {
	GMV                   money   `json:"gmv"`
	NetGMV                money   `json:"net_gmv"`
	Orders                uint64  `json:"orders"`
	Buyers                uint64  `json:"buyers"`
	AOV                   money   `json:"aov"`
	Refunds               uint64  `json:"refunds"`
	RefundedOrders        uint64  `json:"refunded_orders"`
	RefundAmount          money   `json:"refund_amount"`
	RefundRate            float64 `json:"refund_rate"`
	UniqueViewers         uint64  `json:"unique_viewers"`
	ConcurrentViewers     uint64  `json:"concurrent_viewers"`
	PeakConcurrentViewers uint64  `json:"peak_concurrent_viewers"`
	ReportedViewers       uint64  `json:"reported_viewers"`
	ConversionRate        float64 `json:"conversion_rate"`
	GPM                   money   `json:"gpm"`
	LateEvents            uint64  `json:"late_events"`
	StreamCount           uint64  `json:"stream_count"`
}

type streamFigures struct {
	StreamID string `json:"stream_id"`
	KOLID    string `json:"kol_id"`
	BrandID  string `json:"brand_id"`
	Platform string `json:"platform"`
	figures
}

type kolFigures struct {
	KOLID string `json:"kol_id"`
	figures
}

type platformFigures struct {
	Platform string `json:"platform"`
	figures
}

// liveReport is GET /api/live and the data of each /api/live/stream "live" event.
type liveReport struct {
	Global     figures           `json:"global"`
	TopStreams []streamFigures   `json:"top_streams"`
	TopKOLs    []kolFigures      `json:"top_kols"`
	Platforms  []platformFigures `json:"platforms"`
	AsOf       *apiTime          `json:"as_of"`
}

type minutePoint struct {
	Minute                apiTime `json:"minute"`
	GMV                   money   `json:"gmv"`
	Orders                uint64  `json:"orders"`
	Buyers                uint64  `json:"buyers"`
	Refunds               uint64  `json:"refunds"`
	RefundAmount          money   `json:"refund_amount"`
	UniqueViewers         uint64  `json:"unique_viewers"`
	ConcurrentViewers     uint64  `json:"concurrent_viewers"`
	PeakConcurrentViewers uint64  `json:"peak_concurrent_viewers"`
	ReportedViewers       uint64  `json:"reported_viewers"`
	Engagements           uint64  `json:"engagements"`
}

// detail is GET /api/streams/{id} and GET /api/kols/{id}: what the plugin reads of either.
type detail struct {
	Minutes []minutePoint `json:"minutes"`
}

type flagRow struct {
	FlagID      string          `json:"flag_id"`
	Kind        string          `json:"kind"`
	StreamID    string          `json:"stream_id"`
	KOLID       string          `json:"kol_id"`
	BrandID     string          `json:"brand_id"`
	Platform    string          `json:"platform"`
	Severity    string          `json:"severity"`
	Score       float64         `json:"score"`
	WindowStart apiTime         `json:"window_start"`
	WindowEnd   apiTime         `json:"window_end"`
	DetectedAt  apiTime         `json:"detected_at"`
	State       string          `json:"state"`
	Evidence    json.RawMessage `json:"evidence"`
	Replayed    bool            `json:"replayed"`
}

// flagList is GET /api/flags.
type flagList struct {
	Flags []flagRow `json:"flags"`
}
