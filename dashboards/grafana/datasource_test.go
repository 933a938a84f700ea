package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/livepulse/livepulse/pipeline/metrics"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// queryOne calls QueryData with one query, as Grafana does for a panel.
func queryOne(t *testing.T, d *Datasource, queryType, model string, tr backend.TimeRange) backend.DataResponse {
	t.Helper()
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		{RefID: "A", QueryType: queryType, TimeRange: tr, JSON: json.RawMessage(model)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Responses["A"]
}

// value returns field name of frame at row i.
func value(t *testing.T, f *data.Frame, name string, i int) any {
	t.Helper()
	field, _ := f.FieldByName(name)
	if field == nil {
		t.Fatalf("frame %s has no field %s", f.Name, name)
	}
	if i >= field.Len() {
		t.Fatalf("frame %s: field %s has %d rows, want row %d", f.Name, name, field.Len(), i)
	}
	return field.At(i)
}

func TestPlugin(t *testing.T) {
	fx := startAPI(t)
	d := datasource(t, fx.srv.URL, testToken)

	t.Run("queries", func(t *testing.T) {
		// Each query's frames against a golden file; the comments name the figures checked by hand.
		for _, c := range []struct {
			name, queryType, model string
			check                  func(t *testing.T, f data.Frames)
		}{
			{"live", QueryLive, `{}`, func(t *testing.T, f data.Frames) {
				if got := value(t, f[0], "gmv", 0); got != 350.50 {
					t.Errorf("live gmv = %v, want 350.50", got)
				}
				if got := f[0].Meta.Channel; got != "ds/livepulse-api/live" {
					t.Errorf("live channel = %q", got)
				}
			}},
			{"top_kols", QueryTopKOLs, `{}`, func(t *testing.T, f data.Frames) {
				if got := value(t, f[0], "kol_id", 0); got != "k2" { // 200.00 beats 150.50
					t.Errorf("top KOL = %v, want k2", got)
				}
			}},
			{"top_streams", QueryTopStreams, `{}`, nil},
			{"platform_split", QueryPlatformSplit, `{}`, func(t *testing.T, f data.Frames) {
				if got := value(t, f[0], "gmv_share", 0); got != 200.0/350.50 {
					t.Errorf("taobao's share = %v, want 200/350.50", got)
				}
			}},
			{"gmv_per_minute_platform", QueryGMVPerMinute, `{}`, func(t *testing.T, f data.Frames) {
				if a, b := value(t, f[0], "gmv", 0), value(t, f[0], "gmv", 1); a != 100.0 || b != 250.50 {
					t.Errorf("platform GMV per minute = %v, %v, want 100.00, 250.50", a, b)
				}
			}},
			{"gmv_per_minute_stream", QueryGMVPerMinute, `{"streamId": "s1"}`, nil},
			{"gmv_per_minute_kol", QueryGMVPerMinute, `{"kolId": "k2"}`, nil},
			{"stream_minutes", QueryStreamMinutes, `{"streamId": "s1"}`, func(t *testing.T, f data.Frames) {
				if got := value(t, f[0], "reported_viewers", 1); got != (*uint64)(nil) {
					t.Errorf("displayed viewers in a minute without a count = %v, want null", got)
				}
			}},
			{"stream_minutes_no_data", QueryStreamMinutes, `{"streamId": "nobody"}`, func(t *testing.T, f data.Frames) {
				if n := f[0].Rows(); n != 0 {
					t.Errorf("%d rows for a stream without data", n)
				}
			}},
			{"flags", QueryFlags, `{}`, func(t *testing.T, f data.Frames) {
				if n := f[0].Rows(); n != 2 { // f-tomorrow is after the range
					t.Errorf("%d flags, want 2", n)
				}
			}},
			{"flags_open_inflation", QueryFlags, `{"kind": "viewer_inflation", "state": "open"}`, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				dr := queryOne(t, d, c.queryType, c.model, fixtureDay)
				if dr.Error != nil {
					t.Fatalf("%s: %v", c.name, dr.Error)
				}
				experimental.CheckGoldenJSONResponse(t, "testdata", c.name, &dr, *update)
				if c.check != nil {
					c.check(t, dr.Frames)
				}
			})
		}
	})

	t.Run("bad queries", func(t *testing.T) {
		f := func(queryType, model string, status backend.Status, contains string) {
			t.Helper()
			dr := queryOne(t, d, queryType, model, fixtureDay)
			if dr.Error == nil || dr.Status != status || !strings.Contains(dr.Error.Error(), contains) {
				t.Errorf("%s %s: status %d, error %v; want %d mentioning %q", queryType, model, dr.Status, dr.Error, status, contains)
			}
		}
		f("", `{}`, backend.StatusBadRequest, "no queryType")
		f("gmv_per_hour", `{}`, backend.StatusBadRequest, "unknown queryType")
		f(QueryStreamMinutes, `{}`, backend.StatusBadRequest, "needs a streamId")
		f(QueryGMVPerMinute, `{"streamId": "s1", "kolId": "k1"}`, backend.StatusBadRequest, "not both")
		f(QueryFlags, `{"limit": -1}`, backend.StatusBadRequest, "bad limit")
		f(QueryLive, `{"streamId": 7}`, backend.StatusBadRequest, "cannot parse")
		wrong := datasource(t, fx.srv.URL, "wrong-token")
		dr := queryOne(t, wrong, QueryLive, `{}`, fixtureDay)
		if !errors.Is(dr.Error, ErrUnauthorized) && (dr.Error == nil || !strings.Contains(dr.Error.Error(), ErrUnauthorized.Error())) {
			t.Errorf("wrong token: %v", dr.Error)
		}
		if dr.Status != backend.StatusUnauthorized || strings.Contains(dr.Error.Error(), testToken) {
			t.Errorf("wrong token: status %d, error %q", dr.Status, dr.Error)
		}
	})

	t.Run("health", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()
		f := func(d *Datasource, status backend.HealthStatus, contains string) {
			t.Helper()
			res, err := d.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != status || !strings.Contains(res.Message, contains) || strings.Contains(res.Message, testToken) {
				t.Errorf("health %v %q, want %v mentioning %q", res.Status, res.Message, status, contains)
			}
		}
		f(d, backend.HealthStatusOk, "is ready")
		f(datasource(t, fx.srv.URL, "wrong-token"), backend.HealthStatusError, "refused the token")
		f(datasource(t, fx.srv.URL, ""), backend.HealthStatusError, "refused the token")
		f(datasource(t, closed.URL, testToken), backend.HealthStatusError, "cannot reach livepulse")
		fx.ready.Store(false)
		f(d, backend.HealthStatusError, "not ready: consumer has not joined")
		fx.ready.Store(true)
	})

	t.Run("stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		packets := make(chan *backend.StreamPacket, 100)
		done := make(chan error, 1)
		go func() {
			done <- d.RunStream(ctx, &backend.RunStreamRequest{Path: LivePath}, backend.NewStreamSender(packetSink(packets)))
		}()
		gmv := func() float64 {
			t.Helper()
			select {
			case p := <-packets:
				var f data.Frame
				if err := json.Unmarshal(p.Data, &f); err != nil {
					t.Fatalf("a pushed frame is not a frame: %v\n%s", err, p.Data)
				}
				return value(t, &f, "gmv", 0).(float64)
			case err := <-done:
				t.Fatalf("RunStream ended: %v", err)
			case <-time.After(60 * time.Second):
				t.Fatal("no frame pushed within 60 s")
			}
			return 0
		}
		if got := gmv(); got != 350.50 {
			t.Fatalf("first pushed GMV = %v, want 350.50", got)
		}
		// A new minute arrives: the ticker moves without a new query.
		insert(t, fx.store, metrics.MinuteRows{s2.minute(at(12, 2), metrics.MinuteRow{GMV: 9_99, Orders: 1, ConcurrentViewers: 19})})
		var last float64
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
			if last = gmv(); last == 360.49 {
				break
			}
			if last != 350.50 {
				t.Fatalf("pushed GMV %v, want 350.50 and then 360.49", last)
			}
		}
		if last != 360.49 {
			t.Fatalf("the pushed GMV never reached 360.49")
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunStream returned %v after its context ended", err)
		}
	})

	t.Run("dashboards", func(t *testing.T) { checkDashboards(t, fx, d) })

	t.Run("subscribe and publish", func(t *testing.T) {
		ctx := context.Background()
		sub, _ := d.SubscribeStream(ctx, &backend.SubscribeStreamRequest{Path: LivePath})
		other, _ := d.SubscribeStream(ctx, &backend.SubscribeStreamRequest{Path: "flags"})
		pub, _ := d.PublishStream(ctx, &backend.PublishStreamRequest{Path: LivePath, Data: json.RawMessage(`{}`)})
		if sub.Status != backend.SubscribeStreamStatusOK || other.Status != backend.SubscribeStreamStatusNotFound ||
			pub.Status != backend.PublishStreamStatusPermissionDenied {
			t.Errorf("subscribe live %v, subscribe flags %v, publish live %v", sub.Status, other.Status, pub.Status)
		}
		if err := d.RunStream(ctx, &backend.RunStreamRequest{Path: "flags"}, nil); !errors.Is(err, ErrBadQuery) {
			t.Errorf("RunStream on an unknown path: %v", err)
		}
	})
}

type packetSink chan *backend.StreamPacket

func (s packetSink) Send(p *backend.StreamPacket) error { s <- p; return nil }

// TestRunStreamReconnects serves one event per connection and then drops it: RunStream must
// reconnect and keep pushing, skip the store's "error" events, and send the token each time.
func TestRunStreamReconnects(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/live/stream" || r.Header.Get("Authorization") != "Bearer "+testToken {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		n := conns.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "retry: 2000\n\n: heartbeat\n\nevent: error\ndata: {\"error\":\"store unavailable\"}\n\n")
		fmt.Fprintf(w, "event: live\ndata: {\"global\":{\"gmv\":\"%d.25\",\"orders\":%d},\"as_of\":null}\n\n", n, n)
	}))
	defer srv.Close()
	d := datasource(t, srv.URL, testToken)
	d.reconnectDelay = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	packets := make(chan *backend.StreamPacket, 10)
	done := make(chan error, 1)
	go func() {
		done <- d.RunStream(ctx, &backend.RunStreamRequest{Path: LivePath}, backend.NewStreamSender(packetSink(packets)))
	}()
	for want := 1; want <= 3; want++ {
		select {
		case p := <-packets:
			var f data.Frame
			if err := json.Unmarshal(p.Data, &f); err != nil {
				t.Fatal(err)
			}
			if got := value(t, &f, "gmv", 0); got != float64(want)+0.25 {
				t.Fatalf("frame %d: gmv %v, want %v", want, got, float64(want)+0.25)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("frame %d not pushed", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunStream: %v", err)
	}
}

// TestRunStreamDropsSilentConnection: a server that answers and then sends nothing, not even a
// heartbeat, is dropped after the idle timeout and dialled again.
func TestRunStreamDropsSilentConnection(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conns.Add(1) > 1 {
			fmt.Fprintf(w, "event: live\ndata: {\"global\":{\"gmv\":\"1.00\"}}\n\n")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // silent until the client gives up
	}))
	defer srv.Close()
	d := datasource(t, srv.URL, testToken)
	d.reconnectDelay, d.streamIdle = 10*time.Millisecond, 200*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	packets := make(chan *backend.StreamPacket, 10)
	go d.RunStream(ctx, &backend.RunStreamRequest{Path: LivePath}, backend.NewStreamSender(packetSink(packets)))
	select {
	case <-packets:
		if n := conns.Load(); n < 2 {
			t.Errorf("a frame after %d connections", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the silent connection was not dropped (%d connections)", conns.Load())
	}
}

func TestLoadSettings(t *testing.T) {
	f := func(s backend.DataSourceInstanceSettings, wantURL, wantErr string) {
		t.Helper()
		got, err := LoadSettings(s)
		switch {
		case wantErr != "":
			if !errors.Is(err, ErrBadSettings) || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%+v: error %v, want %q", s, err, wantErr)
			}
		case err != nil || got.URL != wantURL:
			t.Errorf("%+v: %+v %v, want URL %s", s, got, err, wantURL)
		}
	}
	f(backend.DataSourceInstanceSettings{URL: "http://livepulse:8080"}, "http://livepulse:8080", "")
	f(backend.DataSourceInstanceSettings{JSONData: []byte(`{"url": "https://lp.example"}`)}, "https://lp.example", "")
	f(backend.DataSourceInstanceSettings{}, "", "no URL")
	f(backend.DataSourceInstanceSettings{URL: "livepulse:8080"}, "", "not an http(s) URL")
	f(backend.DataSourceInstanceSettings{URL: "http://x", JSONData: []byte(`[`)}, "", "cannot parse jsonData")
}
