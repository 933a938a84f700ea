package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"
	"go.yaml.in/yaml/v3"
)

// The provisioned dashboards (dashboards/*.json) and datasources (deploy/grafana/provisioning),
// relative to this package.
var (
	dashboardFiles    = filepath.Join("..", "*.json")
	datasourceConfigs = filepath.Join("..", "..", "deploy", "grafana", "provisioning", "datasources", "*.yaml")
)

type dsRef struct{ Type, UID string }

type dashTarget struct {
	Datasource *dsRef
	QueryType  string `json:"queryType"`
	RawSQL     string `json:"rawSql"`
}

type dashPanel struct {
	ID          int
	Type, Title string
	Datasource  *dsRef
	Targets     []json.RawMessage
	Panels      []dashPanel // a row's panels
	Options     struct {
		ReduceOptions struct{ Fields string }
	}
	Transformations []struct {
		ID      string
		Options struct {
			Include struct{ Names []string }
		}
	}
}

type dashboardFile struct {
	UID, Title string
	Panels     []dashPanel
	Templating struct {
		List []struct {
			Name, Type string
			Datasource *dsRef
			Query      any
		}
	}
}

// provisionedDatasources reads the uid → type of every provisioned datasource.
func provisionedDatasources(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(datasourceConfigs)
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Datasources []struct{ UID, Type string }
		}
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, ds := range cfg.Datasources {
			out[ds.UID] = ds.Type
		}
	}
	if out["livepulse-clickhouse"] != "grafana-clickhouse-datasource" || out["livepulse-api"] != PluginID {
		t.Fatalf("provisioned datasources %v lack livepulse-clickhouse or livepulse-api", out)
	}
	return out
}

// Grafana macros of the ClickHouse datasource, and dashboard variables, as the test expands them.
var (
	timeFilterMacro = regexp.MustCompile(`\$__timeFilter\(\s*(\w+)\s*\)`)
	variableRef     = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`)
)

// expand renders a panel's SQL the way the ClickHouse datasource would for the fixture day, with
// the dashboard variables set to vars.
func expand(t *testing.T, sql string, vars map[string]string) string {
	t.Helper()
	from, to := fixtureDay.From.Unix(), fixtureDay.To.Unix()
	sql = timeFilterMacro.ReplaceAllString(sql, fmt.Sprintf("$1 >= toDateTime(%d) AND $1 <= toDateTime(%d)", from, to))
	sql = strings.NewReplacer("$__fromTime", fmt.Sprintf("toDateTime(%d)", from), "$__toTime", fmt.Sprintf("toDateTime(%d)", to)).Replace(sql)
	return variableRef.ReplaceAllStringFunc(sql, func(m string) string {
		name := strings.Trim(m, "${}")
		v, ok := vars[name]
		if !ok {
			t.Errorf("unknown variable or macro %s in\n%s", m, sql)
		}
		return v
	})
}

// checkDashboards checks every provisioned dashboard against the provisioning, the plugin and
// the store: each panel's datasource is provisioned; each SQL panel's query (and each variable's)
// is read-only and returns rows on the fixture; each plugin query returns frames with the fields
// the panel's transformations and reductions pick.
func checkDashboards(t *testing.T, fx *fixtureAPI, d *Datasource) {
	provisioned := provisionedDatasources(t)
	files, err := filepath.Glob(dashboardFiles)
	if err != nil || len(files) < 3 {
		t.Fatalf("dashboards %v, %v: want executive, kol-audit and trust-and-safety", files, err)
	}
	fixtureVars := map[string]string{"kol": "k1", "stream": "s1"}
	uids := map[string]string{}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var dash dashboardFile
			if err := json.Unmarshal(b, &dash); err != nil {
				t.Fatal(err)
			}
			if dash.UID == "" || dash.Title == "" || uids[dash.UID] != "" {
				t.Fatalf("uid %q (also in %q), title %q", dash.UID, uids[dash.UID], dash.Title)
			}
			uids[dash.UID] = file
			vars := map[string]string{}
			for _, v := range dash.Templating.List {
				vars[v.Name] = fixtureVars[v.Name]
				if v.Type == "query" {
					checkDatasource(t, "variable "+v.Name, v.Datasource, provisioned)
					q, _ := v.Query.(string)
					runSQL(t, fx, "variable "+v.Name, expand(t, q, vars))
				}
			}
			var panels []dashPanel
			for _, p := range dash.Panels {
				panels = append(panels, p)
				panels = append(panels, p.Panels...)
			}
			for _, p := range panels {
				if p.Type == "row" {
					continue
				}
				what := fmt.Sprintf("panel %d %q", p.ID, p.Title)
				checkDatasource(t, what, p.Datasource, provisioned)
				if len(p.Targets) == 0 {
					t.Errorf("%s has no query", what)
				}
				for _, raw := range p.Targets {
					var tg dashTarget
					if err := json.Unmarshal(raw, &tg); err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					checkDatasource(t, what, tg.Datasource, provisioned)
					if tg.Datasource == nil {
						continue
					}
					switch tg.Datasource.Type {
					case "grafana-clickhouse-datasource":
						runSQL(t, fx, what, expand(t, tg.RawSQL, vars))
					case PluginID:
						checkPluginTarget(t, d, what, p, raw, vars)
					}
				}
			}
		})
	}
}

func checkDatasource(t *testing.T, what string, ref *dsRef, provisioned map[string]string) {
	t.Helper()
	if ref == nil || provisioned[ref.UID] == "" || provisioned[ref.UID] != ref.Type {
		t.Errorf("%s: datasource %+v is not provisioned (have %v)", what, ref, provisioned)
	}
}

// runSQL runs a dashboard's SQL through the read-only gate and wants rows back.
func runSQL(t *testing.T, fx *fixtureAPI, what, sql string) {
	t.Helper()
	out, err := fx.store.QueryReadOnly(context.Background(), sql, "JSONEachRow")
	if err != nil {
		t.Errorf("%s: %v\n%s", what, err, sql)
		return
	}
	if len(bytes.TrimSpace(out)) == 0 {
		t.Errorf("%s: no rows on the fixture\n%s", what, sql)
	}
}

// checkPluginTarget sends the panel's query to the plugin as Grafana's frontend would (variables
// replaced) and checks that the frames carry what the panel shows.
func checkPluginTarget(t *testing.T, d *Datasource, what string, p dashPanel, raw json.RawMessage, vars map[string]string) {
	t.Helper()
	var tg dashTarget
	json.Unmarshal(raw, &tg)
	if !slices.Contains(QueryTypes, tg.QueryType) {
		t.Errorf("%s: queryType %q is not one of %v", what, tg.QueryType, QueryTypes)
		return
	}
	var model map[string]any
	json.Unmarshal(raw, &model)
	for k, v := range model {
		if s, ok := v.(string); ok && strings.Contains(s, "$") {
			model[k] = variableRef.ReplaceAllStringFunc(s, func(m string) string { return vars[strings.Trim(m, "${}")] })
		}
	}
	js, _ := json.Marshal(model)
	dr := queryOne(t, d, tg.QueryType, string(js), fixtureDay)
	if dr.Error != nil {
		t.Errorf("%s: %v", what, dr.Error)
		return
	}
	if len(dr.Frames) == 0 || dr.Frames[0].Rows() == 0 {
		t.Errorf("%s: no rows on the fixture", what)
		return
	}
	names := fieldNames(dr.Frames)
	for _, tr := range p.Transformations {
		for _, n := range tr.Options.Include.Names {
			if !slices.Contains(names, n) {
				t.Errorf("%s: transformation %s keeps %q, not a field of %v", what, tr.ID, n, names)
			}
		}
	}
	if re := p.Options.ReduceOptions.Fields; strings.HasPrefix(re, "/") && strings.HasSuffix(re, "/") && len(re) > 2 {
		match := regexp.MustCompile(re[1 : len(re)-1])
		if !slices.ContainsFunc(names, match.MatchString) {
			t.Errorf("%s: fields %s match none of %v", what, re, names)
		}
	}
}

func fieldNames(frames data.Frames) []string {
	var names []string
	for _, f := range frames {
		for _, fld := range f.Fields {
			names = append(names, fld.Name)
		}
	}
	return names
}
