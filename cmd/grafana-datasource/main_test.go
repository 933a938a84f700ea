package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// runAsPlugin makes the test binary serve as the plugin when Grafana's stand-in (the test) starts
// it again, so that the test exercises main itself without building a second binary.
const runAsPlugin = "LIVEPULSE_TEST_RUN_AS_PLUGIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsPlugin) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestServeOverGRPC starts the plugin the way Grafana does (go-plugin: a child process, the
// datasource handshake, gRPC) and calls CheckHealth, QueryData and RunStream through the SDK's
// client stubs, against an HTTP server answering with the /api/live response recorded by
// dashboards/api's golden test.
func TestServeOverGRPC(t *testing.T) {
	live, err := os.ReadFile(filepath.Join("..", "..", "dashboards", "api", "testdata", "live_2026-11-11.json"))
	if err != nil {
		t.Fatal(err)
	}
	const token = "grpc-test-token"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/readyz":
			w.Write([]byte("ready\n"))
		case "/api/live":
			w.Header().Set("Content-Type", "application/json")
			w.Write(live)
		case "/api/live/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("event: live\ndata: "))
			w.Write(bytes.ReplaceAll(live, []byte("\n"), nil)) // an SSE data field is one line
			w.Write([]byte("\n\n"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runAsPlugin+"=1")
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion: grpcplugin.ProtocolVersion, MagicCookieKey: grpcplugin.MagicCookieKey, MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]plugin.PluginSet{grpcplugin.ProtocolVersion: {
			"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
			"data":        &grpcplugin.DataGRPCPlugin{},
			"stream":      &grpcplugin.StreamGRPCPlugin{},
		}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     time.Minute,
		Logger:           hclog.NewNullLogger(),
	})
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("cannot start the plugin: %v", err)
	}
	dispense := func(name string) any {
		t.Helper()
		c, err := rpc.Dispense(name)
		if err != nil {
			t.Fatalf("dispense %s: %v", name, err)
		}
		return c
	}
	pctx := &pluginv2.PluginContext{OrgId: 1, PluginId: "livepulse-livepulse-datasource",
		DataSourceInstanceSettings: &pluginv2.DataSourceInstanceSettings{Id: 1, Uid: "livepulse-api", Name: "livepulse",
			Url: api.URL, JsonData: []byte(`{}`), DecryptedSecureJsonData: map[string]string{"token": token}, LastUpdatedMS: 1}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	health, err := dispense("diagnostics").(grpcplugin.DiagnosticsClient).CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: pctx})
	if err != nil || health.Status != pluginv2.CheckHealthResponse_OK {
		t.Fatalf("CheckHealth: %v %v", health, err)
	}

	resp, err := dispense("data").(grpcplugin.DataClient).QueryData(ctx, &pluginv2.QueryDataRequest{PluginContext: pctx,
		Queries: []*pluginv2.DataQuery{{RefId: "A", QueryType: "live", Json: []byte(`{"queryType":"live"}`),
			TimeRange: &pluginv2.TimeRange{FromEpochMS: 0, ToEpochMS: time.Now().UnixMilli()}}}})
	if err != nil {
		t.Fatal(err)
	}
	a := resp.Responses["A"]
	if a == nil || a.Error != "" {
		t.Fatalf("QueryData: %v", a)
	}
	frames, err := data.UnmarshalArrowFrames(a.Frames)
	if err != nil {
		t.Fatal(err)
	}
	checkGMV(t, "QueryData", frames[0], 760.50)
	if ch := frames[0].Meta.Channel; ch != "ds/livepulse-api/live" {
		t.Errorf("channel %q", ch)
	}

	streams := dispense("stream").(grpcplugin.StreamClient)
	sub, err := streams.SubscribeStream(ctx, &pluginv2.SubscribeStreamRequest{PluginContext: pctx, Path: "live"})
	if err != nil || sub.Status != pluginv2.SubscribeStreamResponse_OK {
		t.Fatalf("SubscribeStream: %v %v", sub, err)
	}
	run, err := streams.RunStream(ctx, &pluginv2.RunStreamRequest{PluginContext: pctx, Path: "live"})
	if err != nil {
		t.Fatal(err)
	}
	packet, err := run.Recv()
	if err != nil {
		t.Fatalf("RunStream: %v", err)
	}
	var f data.Frame
	if err := f.UnmarshalJSON(packet.Data); err != nil {
		t.Fatal(err)
	}
	checkGMV(t, "RunStream", &f, 760.50)
}

func checkGMV(t *testing.T, what string, f *data.Frame, want float64) {
	t.Helper()
	gmv, _ := f.FieldByName("gmv")
	if gmv == nil || gmv.Len() != 1 || gmv.At(0) != want {
		t.Errorf("%s: gmv field %v, want one row of %v", what, gmv, want)
	}
}
