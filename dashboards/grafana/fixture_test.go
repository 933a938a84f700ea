package grafana

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/livepulse/livepulse/dashboards/api"
	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/flags"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
	"github.com/livepulse/livepulse/schemas"
)

// The fixture day is 2026-11-11 in Shanghai; the figures below are worked out from the rows
// seeded by seed.
var shanghai = time.FixedZone("CST", 8*60*60)

func at(h, m int) time.Time { return time.Date(2026, 11, 11, h, m, 0, 0, shanghai) }

// fixtureDay is the whole fixture day as a panel's range.
var fixtureDay = backend.TimeRange{From: at(0, 0), To: at(24, 0)}

// fixtureNow is the clock of the API ("today") and of the ticker's rows.
var fixtureNow = at(12, 30)

const testToken = "test-token-not-a-secret"

type streamInfo struct{ id, kol, brand, platform string }

var (
	s1 = streamInfo{"s1", "k1", "b1", "douyin"}
	s2 = streamInfo{"s2", "k2", "b2", "taobao"}
)

func (s streamInfo) minute(t time.Time, m metrics.MinuteRow) metrics.MinuteRow {
	m.Minute, m.StreamID, m.KOLID, m.BrandID, m.Platform = t.UnixMilli(), s.id, s.kol, s.brand, s.platform
	m.Version, m.EmittedAt = 1, t.Add(time.Minute).UnixMilli()
	return m
}

func insert(t *testing.T, st *store.Store, rows store.Rows) {
	t.Helper()
	if err := st.Insert(context.Background(), time.Now(), rows); err != nil {
		t.Fatal(err)
	}
}

// seed stores the fixture:
//
//	s1 (k1, douyin) 12:00  GMV 100.00, 2 orders, 10 measured viewers, 50 displayed
//	s1              12:01  GMV  50.50, 1 order, a refund of 20.00, 8 measured, no displayed count
//	s2 (k2, taobao) 12:01  GMV 200.00, 3 orders, 20 measured, 30 displayed
//
// with the raw orders and viewer joins behind them (3 buyers, 4 viewers), so the day's GMV is
// 350.50 (12:00: 100.00, 12:01: 250.50), and two flags: a viewer_inflation
// on s1 (open) and a refund_spike on s2 (closed); a third is detected the next day.
func seed(t *testing.T, st *store.Store) {
	t.Helper()
	insert(t, st, metrics.MinuteRows{
		s1.minute(at(12, 0), metrics.MinuteRow{GMV: 100_00, Orders: 2, Buyers: 2, Joins: 3, UniqueViewers: 3,
			ConcurrentViewers: 10, PeakConcurrent: 12, ReportedViewers: 50, CountEvents: 1}),
		s1.minute(at(12, 1), metrics.MinuteRow{GMV: 50_50, Orders: 1, Buyers: 1, Refunds: 1, RefundAmount: 20_00, RefundedOrders: 1,
			UniqueViewers: 2, ConcurrentViewers: 8, PeakConcurrent: 10, Engagements: 4}),
		s2.minute(at(12, 1), metrics.MinuteRow{GMV: 200_00, Orders: 3, Buyers: 1, Joins: 2, UniqueViewers: 2,
			ConcurrentViewers: 20, PeakConcurrent: 21, ReportedViewers: 30, CountEvents: 1}),
	})
	order := func(s streamInfo, id, buyer string, ts time.Time, amount schemas.Money) store.OrderRow {
		return store.OrderRow{Src: store.Source{Topic: "livepulse.order", Offset: int64(len(id))},
			Ev: schemas.Order{Header: schemas.Header{EventID: "e-" + id, TS: ts.UnixMilli(), StreamID: s.id, KOLID: s.kol,
				BrandID: s.brand, Platform: s.platform}, OrderID: id, BuyerID: buyer, Quantity: 1, Amount: amount, Currency: "CNY"}}
	}
	insert(t, st, store.OrderRows{
		order(s1, "o1", "u1", at(12, 0).Add(10*time.Second), 40_00),
		order(s1, "o2", "u2", at(12, 0).Add(20*time.Second), 60_00),
		order(s1, "o3", "u1", at(12, 1).Add(5*time.Second), 50_50),
		order(s2, "o4", "u3", at(12, 1).Add(1*time.Second), 50_00),
		order(s2, "o5", "u3", at(12, 1).Add(2*time.Second), 50_00),
		order(s2, "o6", "u3", at(12, 1).Add(3*time.Second), 100_00),
	})
	viewer := func(s streamInfo, id, who string, ts time.Time) store.ViewerRow {
		return store.ViewerRow{Src: store.Source{Topic: "livepulse.viewer", Offset: int64(len(id))},
			Ev: schemas.Viewer{Header: schemas.Header{EventID: id, TS: ts.UnixMilli(), StreamID: s.id, KOLID: s.kol,
				BrandID: s.brand, Platform: s.platform}, Action: schemas.ActionJoin, ViewerID: who}}
	}
	insert(t, st, store.ViewerRows{
		viewer(s1, "v-1", "v1", at(12, 0)), viewer(s1, "v-2", "v2", at(12, 0)), viewer(s1, "v-3", "v3", at(12, 1)),
		viewer(s2, "v-4", "v4", at(12, 1)),
	})
	flag := func(id, kind string, s streamInfo, detected time.Time, state string, sev detectors.Severity, summary string) flags.Row {
		return flags.Row{Version: 1, EmittedAt: detected.UnixMilli(), Flag: detectors.Flag{
			FlagID: id, Kind: kind, StreamID: s.id, KOLID: s.kol, BrandID: s.brand, Platform: s.platform,
			Severity: sev, Score: 0.875, WindowStart: detected.Add(-5 * time.Minute).UnixMilli(), WindowEnd: detected.UnixMilli(),
			DetectedAt: detected.UnixMilli(), State: state,
			Evidence: detectors.Evidence{Summary: summary, Fired: []string{"ratio"}, Signals: map[string]float64{"ratio": 6},
				Baseline: map[string]float64{"ratio": 1.2}}}}
	}
	insert(t, st, flags.Rows{
		flag("f-inflation", "viewer_inflation", s1, at(12, 1), "open", detectors.SeverityCritical,
			"displayed 50 viewers; 10 measured sessions; the displayed count was 5.0× the measured audience"),
		flag("f-refunds", "refund_spike", s2, at(12, 5), "closed", detectors.SeverityWarning,
			"21 of 30 orders refunded (70 %), Wilson lower bound 52 %"),
		flag("f-tomorrow", "order_brushing", s2, at(24, 30), "open", detectors.SeverityInfo, "outside the range"),
	})
}

// fixtureAPI is the real livepulse API over the seeded embedded store, requiring testToken.
type fixtureAPI struct {
	srv   *httptest.Server
	store *store.Store
	ready atomic.Bool // what /readyz reports
}

func startAPI(t *testing.T) *fixtureAPI {
	t.Helper()
	st := testenv.Store(t)
	seed(t, st)
	f := &fixtureAPI{store: st}
	f.ready.Store(true)
	done := make(chan struct{})
	h := api.Handler(api.Config{
		Store:        st,
		Ready:        f.ready.Load,
		Location:     shanghai,
		Now:          func() time.Time { return fixtureNow },
		LiveInterval: 200 * time.Millisecond,
		Done:         done,
	})
	f.srv = httptest.NewServer(api.RequireToken(testToken, h))
	t.Cleanup(func() { close(done); f.srv.Close() })
	return f
}

// datasource returns the plugin's instance for url and token, built as Grafana would.
func datasource(t *testing.T, url, token string) *Datasource {
	t.Helper()
	inst, err := NewDatasource(context.Background(), backend.DataSourceInstanceSettings{
		UID: "livepulse-api", URL: url, JSONData: []byte(`{"timeoutSeconds": 20}`),
		DecryptedSecureJSONData: map[string]string{"token": token},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := inst.(*Datasource)
	d.now = func() time.Time { return fixtureNow }
	t.Cleanup(d.Dispose)
	return d
}
