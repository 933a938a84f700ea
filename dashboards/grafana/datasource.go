// Package grafana is livepulse's Grafana backend datasource plugin. It reads livepulse's HTTP API
// (dashboards/api), never the store: the same plugin works against the embedded single-process
// default and against a cluster of replicas behind one address.
//
// Files: datasource.go (settings, instances), client.go (the HTTP API), query.go (QueryData),
// frames.go (API responses as data frames), stream.go (the live ticker through Grafana Live),
// health.go (CheckHealth). The plugin's metadata and frontend are in plugin/.
package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
)

// PluginID is the id in plugin/plugin.json.
const PluginID = "livepulse-livepulse-datasource"

// ErrBadSettings is returned for a datasource configuration the plugin cannot use.
var ErrBadSettings = errors.New("bad datasource settings")

// Settings is one configured datasource.
type Settings struct {
	// URL is livepulse's HTTP API, e.g. http://livepulse:8080: the datasource's URL, or jsonData.url.
	URL string `json:"url"`
	// Token is the bearer token (secureJsonData.token); "" sends none, which livepulse accepts
	// only on loopback.
	Token string `json:"-"`
	// TimeoutSeconds bounds one API request (jsonData.timeoutSeconds). Default 30.
	TimeoutSeconds int `json:"timeoutSeconds"`
}

// LoadSettings reads the datasource's settings as Grafana stores them.
func LoadSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	var st Settings
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &st); err != nil {
			return st, fmt.Errorf("%w: cannot parse jsonData: %v", ErrBadSettings, err)
		}
	}
	if s.URL != "" {
		st.URL = s.URL
	}
	st.Token = s.DecryptedSecureJSONData["token"]
	if st.URL == "" {
		return st, fmt.Errorf("%w: no URL (set the datasource's URL to livepulse's HTTP API, e.g. http://livepulse:8080)", ErrBadSettings)
	}
	u, err := url.Parse(st.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return st, fmt.Errorf("%w: URL %q is not an http(s) URL", ErrBadSettings, st.URL)
	}
	return st, nil
}

// Datasource is one configured instance: it implements QueryData, CheckHealth and the stream
// handlers (SubscribeStream, RunStream, PublishStream).
type Datasource struct {
	uid    string // Grafana's uid of this datasource: the Live channels are ds/<uid>/<path>
	client *client
	// now stamps the live ticker's rows; tests fix it.
	now func() time.Time
	// reconnectDelay is the pause before RunStream reconnects to a dropped /api/live/stream.
	reconnectDelay time.Duration
	// streamIdle drops a /api/live/stream connection that has sent nothing, not even its 15 s
	// heartbeat, for this long: a half-open connection would otherwise freeze the ticker unnoticed.
	streamIdle time.Duration
}

// NewDatasource is the instance factory datasource.Manage calls for each configured datasource
// (and again when its settings change).
func NewDatasource(_ context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	st, err := LoadSettings(s)
	if err != nil {
		return nil, err
	}
	return newDatasource(s.UID, st), nil
}

func newDatasource(uid string, st Settings) *Datasource {
	timeout := 30 * time.Second
	if st.TimeoutSeconds > 0 {
		timeout = time.Duration(st.TimeoutSeconds) * time.Second
	}
	return &Datasource{
		uid: uid,
		client: &client{
			base:    strings.TrimRight(st.URL, "/"),
			token:   st.Token,
			timeout: timeout,
			// No client-wide timeout: it would cut the live stream; each request has its own.
			http: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		},
		now:            time.Now,
		reconnectDelay: 2 * time.Second,
		streamIdle:     45 * time.Second,
	}
}

// Dispose is called when the settings change or the datasource is deleted.
func (d *Datasource) Dispose() { d.client.http.CloseIdleConnections() }

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.StreamHandler         = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)
