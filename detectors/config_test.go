package detectors

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(nil)
	if err != nil || !reflect.DeepEqual(c, DefaultConfig()) {
		t.Fatalf("empty document: %v, %+v", err, c)
	}
	if c, err := ParseConfig([]byte("# nothing set\n")); err != nil || !reflect.DeepEqual(c, DefaultConfig()) {
		t.Fatalf("comment-only document: %v", err)
	}
}

// defaults.yaml documents every key with its default: it must parse to DefaultConfig and name
// every field.
func TestDefaultsFileMatchesDefaultConfig(t *testing.T) {
	c, err := ParseConfig(DefaultYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, DefaultConfig()) {
		t.Errorf("defaults.yaml parses to\n%+v\nwant DefaultConfig()\n%+v", c, DefaultConfig())
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(DefaultYAML, &doc); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := join(prefix, n.Content[i].Value)
			present[p] = true
			if n.Content[i+1].Kind == yaml.MappingNode {
				walk(n.Content[i+1], p)
			}
		}
	}
	walk(doc.Content[0], "")
	for _, p := range configPaths() {
		if !present[p] {
			t.Errorf("defaults.yaml does not document %s", p)
		}
	}
}

func TestConfigOverride(t *testing.T) {
	path := filepath.Join(t.TempDir(), "detectors.yaml")
	err := os.WriteFile(path, []byte(`
evaluate_every: 5s
close_after: 3
severity: {warning: 0.4, critical: 0.9}
viewer_inflation:
  extreme_ratio: 6
  burst_span: 2m
refund_spike:
  rate: 0.7
  lower_bound: 0.6
order_brushing:
  enabled: false
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.EvaluateEvery = Duration(5 * time.Second)
	want.CloseAfter = 3
	want.Severity = SeverityConfig{Warning: 0.4, Critical: 0.9}
	want.ViewerInflation.ExtremeRatio = 6
	want.ViewerInflation.BurstSpan = Duration(2 * time.Minute)
	want.RefundSpike.Rate, want.RefundSpike.LowerBound = 0.7, 0.6
	want.OrderBrushing.Enabled = false
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}
	if e := NewEngine(c); len(e.dets) != 2 {
		t.Errorf("order_brushing disabled: want 2 detectors, got %d", len(e.dets))
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file must be an error")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       []string // all in the error text
	}{
		{"unknown key", "viewer_inflation:\n  min_sesions: 10\n",
			[]string{"viewer_inflation.min_sesions", "line 2", "unknown key", `did you mean "min_sessions"`}},
		{"unknown section", "refund:\n  rate: 0.5\n", []string{"refund (line 1): unknown key", "refund_spike"}},
		{"unknown top key", "evaluate: 10s\n", []string{"evaluate (line 1)", `did you mean "evaluate_every"`}},
		{"rate out of range", "refund_spike:\n  rate: 1.5\n", []string{"refund_spike.rate (line 2): must be in (0, 1], got 1.5"}},
		{"negative count", "order_brushing:\n  min_orders: -1\n", []string{"order_brushing.min_orders (line 2): must be at least 1, got -1"}},
		{"duration without unit", "evaluate_every: 10\n", []string{"evaluate_every (line 1): must be a duration with a unit", `"10"`}},
		{"bad duration", "viewer_inflation:\n  window: soon\n", []string{"viewer_inflation.window (line 2)", `"soon"`}},
		{"wrong type", "order_brushing:\n  min_orders: many\n", []string{"order_brushing.min_orders (line 2): must be a whole number", `"many"`}},
		{"float for int", "close_after: 2.5\n", []string{"close_after (line 1): must be a whole number"}},
		{"bool", "refund_spike:\n  enabled: maybe\n", []string{"refund_spike.enabled (line 2): must be true or false"}},
		{"section not a mapping", "viewer_inflation: 3\n", []string{"viewer_inflation (line 1): must be a mapping"}},
		{"null", "refund_spike:\n  rate:\n", []string{"refund_spike.rate (line 2): must be a number, got nothing"}},
		{"repeated key", "close_after: 2\nclose_after: 3\n", []string{"close_after (line 2): key given twice"}},
		{"relation", "viewer_inflation:\n  displayed_ratio: 5\n  extreme_ratio: 3\n", []string{"viewer_inflation.extreme_ratio (line 3): must be at least displayed_ratio (5), got 3"}},
		{"window vs idle", "stream_idle: 10m\n", []string{"stream_idle (line 1): must be at least the longest detector window (order_brushing.window: 1h), got 10m"}},
		{"severity order", "severity:\n  warning: 0.9\n  critical: 0.8\n", []string{"severity.warning (line 2): must be below severity.critical"}},
		{"several at once", "close_after: 0\nrefund_spike:\n  confidence: 1\n", []string{"close_after (line 1)", "refund_spike.confidence (line 3): must be in [0.5, 1)"}},
		{"not yaml", "a: [1,\n", []string{"invalid YAML"}},
		{"top level list", "- 1\n", []string{"(top level) (line 1): must be a mapping"}},
	} {
		_, err := ParseConfig([]byte(c.yaml))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
}

func TestNewEnginePanicsOnInvalidConfig(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	c := DefaultConfig()
	c.CloseAfter = 0
	NewEngine(c)
}

// configPaths lists the dotted YAML path of every leaf field of Config, in declaration order.
func configPaths() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			p := join(prefix, tagName(f))
			if f.Type.Kind() == reflect.Struct && f.Type != durationType {
				walk(f.Type, p)
				continue
			}
			out = append(out, p)
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out
}
