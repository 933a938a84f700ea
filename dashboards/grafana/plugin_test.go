package grafana

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPluginJSON checks that plugin.json describes this backend: Grafana starts
// <executable>_<os>_<arch> from the plugin directory and calls it by id.
func TestPluginJSON(t *testing.T) {
	b, err := os.ReadFile("plugin/plugin.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Type, ID, Executable string
		Backend, Streaming   bool
		Alerting, Metrics    bool
		Info                 struct{ Logos struct{ Small, Large string } }
		Dependencies         struct{ GrafanaDependency string }
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "datasource" || p.ID != PluginID || p.Executable != "gpx_livepulse" || !p.Backend || !p.Streaming || !p.Metrics {
		t.Errorf("plugin.json: %+v", p)
	}
	if p.Dependencies.GrafanaDependency == "" {
		t.Error("plugin.json has no grafanaDependency")
	}
	for _, f := range []string{p.Info.Logos.Small, p.Info.Logos.Large, "module.js"} {
		if _, err := os.Stat("plugin/" + f); err != nil {
			t.Errorf("plugin file %q: %v", f, err)
		}
	}
}

// TestFrontendModule loads plugin/module.js in Node with stand-ins for Grafana's shared
// libraries (testdata/module_check.js): it registers a backend datasource, its query types are
// the backend's, template variables are replaced, and the editors set what they should. It does
// not run Grafana itself. Skipped without node unless CI is set.
func TestFrontendModule(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node is required when CI is set: %v", err)
		}
		t.Skipf("node is not on PATH: %v", err)
	}
	out, err := exec.Command(node, "testdata/module_check.js", "plugin/module.js", strings.Join(QueryTypes, ",")).CombinedOutput()
	if err != nil {
		t.Fatalf("module_check.js: %v\n%s", err, out)
	}
}
