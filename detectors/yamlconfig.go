package detectors

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// LoadConfig reads a YAML configuration file: see ParseConfig.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("detectors config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("detectors config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses a YAML configuration: DefaultConfig with the values the document sets.
// Parsing is strict: an unknown or repeated key, a value of the wrong type, a duration without a
// unit and an invalid value are errors, each naming the field's path and line (all of them are
// reported, joined). An empty document gives the defaults.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, fmt.Errorf("invalid YAML: %w", err)
	}
	d := nodeDecoder{lines: make(map[string]int)}
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		if !(root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
			d.decode(root, reflect.ValueOf(&c).Elem(), "")
		}
	}
	if len(d.errs) > 0 {
		return Config{}, errors.Join(d.errs...)
	}
	if err := c.Validate(); err != nil {
		// Point at the lines the values came from.
		var errs []error
		for _, e := range unjoin(err) {
			var fe *FieldError
			if errors.As(e, &fe) && fe.Line == 0 {
				fe.Line = d.lines[fe.Path]
			}
			errs = append(errs, e)
		}
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

var durationType = reflect.TypeFor[Duration]()

// nodeDecoder sets a Config from a YAML node tree, checking every key against the struct's yaml
// tags so that errors carry the dotted path of the field.
type nodeDecoder struct {
	errs  []error
	lines map[string]int // path → line of its value
}

func (d *nodeDecoder) fail(path string, n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Path: path, Line: n.Line, Msg: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *nodeDecoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if path != "" {
		d.lines[path] = n.Line
	}
	where := path
	if where == "" {
		where = "(top level)"
	}
	if v.Kind() == reflect.Struct && v.Type() != durationType {
		if n.Kind != yaml.MappingNode {
			d.fail(where, n, "must be a mapping of keys to values, got %s", describe(n))
			return
		}
		t := v.Type()
		seen := make(map[string]bool)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := k.Value
			if k.Kind != yaml.ScalarNode {
				d.fail(where, k, "keys must be plain names, got %s", describe(k))
				continue
			}
			if k.Value == "<<" {
				d.fail(where, k, "merge keys (<<) are not supported")
				continue
			}
			fp := join(path, key)
			if seen[key] {
				d.fail(fp, k, "key given twice")
				continue
			}
			seen[key] = true
			f, ok := fieldByTag(t, key)
			if !ok {
				known := tags(t)
				msg := "unknown key"
				if s := suggest(key, known); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				d.fail(fp, k, "%s; valid keys here: %s", msg, strings.Join(known, ", "))
				continue
			}
			d.decode(val, v.FieldByIndex(f.Index), fp)
		}
		return
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.fail(where, n, "must be %s, got %s", want(v.Type()), describe(n))
		return
	}
	switch {
	case v.Type() == durationType:
		if n.Tag != "!!str" {
			d.fail(where, n, "must be a duration with a unit such as 10s, 5m or 1h, got %q", n.Value)
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.fail(where, n, "must be a duration with a unit such as 10s, 5m or 1h, got %q", n.Value)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.Bool:
		var b bool
		if n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.fail(where, n, "must be true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		var i int
		if n.Tag != "!!int" || n.Decode(&i) != nil {
			d.fail(where, n, "must be a whole number, got %q", n.Value)
			return
		}
		v.SetInt(int64(i))
	case v.Kind() == reflect.Float64:
		var f float64
		if (n.Tag != "!!float" && n.Tag != "!!int") || n.Decode(&f) != nil {
			d.fail(where, n, "must be a number, got %q", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		d.fail(where, n, "cannot be set from YAML") // a Config field of a type not handled here
	}
}

func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 10s"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int:
		return "a whole number"
	case t.Kind() == reflect.Float64:
		return "a number"
	}
	return "a value"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tagName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func tags(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if n := tagName(t.Field(i)); n != "" && n != "-" {
			out = append(out, n)
		}
	}
	return out
}

// suggest returns the known key closest to key when it looks like a typo of it: edit distance
// at most 2, else one name containing the other.
func suggest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return best
	}
	for _, k := range known {
		if strings.Contains(k, key) || strings.Contains(key, k) {
			return k
		}
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
