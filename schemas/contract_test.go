package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The contract exists three times: as JSON Schema for producers (*.schema.json), as the Go decoder
// (decode.go) and as the stored columns (tables.go, the source of truth). The tests in this file
// keep the three in agreement; README.md says what each covers.

var update = flag.Bool("update", false, "rewrite the generated parts of README.md")

const schemaBaseURL = "https://livepulse.dev/schemas/"

// contractSchemas holds the JSON Schema files, parsed and compiled.
type contractSchemas struct {
	docs     map[string]map[string]any // file name → document
	compiled map[Kind]*jsonschema.Schema
}

var (
	schemasOnce sync.Once
	schemasVal  *contractSchemas
	schemasErr  error
)

// loadSchemas compiles every schemas/*.schema.json once, with format assertions on (so date-time
// is checked, not just annotated). Compiling also validates each file against the draft 2020-12
// meta-schema.
func loadSchemas(tb testing.TB) *contractSchemas {
	tb.Helper()
	schemasOnce.Do(func() { schemasVal, schemasErr = compileSchemas() })
	if schemasErr != nil {
		tb.Fatal(schemasErr)
	}
	return schemasVal
}

func compileSchemas() (*contractSchemas, error) {
	files, err := filepath.Glob("*.schema.json")
	if err != nil {
		return nil, err
	}
	s := &contractSchemas{docs: map[string]map[string]any{}, compiled: map[Kind]*jsonschema.Schema{}}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		m, ok := doc.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: not a JSON object", f)
		}
		if id := m["$id"]; id != schemaBaseURL+f {
			return nil, fmt.Errorf("%s: $id is %v, want %s", f, id, schemaBaseURL+f)
		}
		if m["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			return nil, fmt.Errorf("%s: $schema is %v, want draft 2020-12", f, m["$schema"])
		}
		s.docs[f] = m
		if err := c.AddResource(schemaBaseURL+f, doc); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
	}
	for _, k := range Kinds {
		sch, err := c.Compile(schemaBaseURL + k.String() + ".schema.json")
		if err != nil {
			return nil, fmt.Errorf("compile %s schema: %v", k, err)
		}
		s.compiled[k] = sch
	}
	return s, nil
}

// validate reports whether the JSON Schema side of the contract accepts raw: JSON text must be
// UTF-8 (RFC 8259 §8.1), parse as one JSON value, and satisfy the kind's schema.
func (s *contractSchemas) validate(kind Kind, raw []byte) error {
	if !utf8.Valid(raw) {
		return errors.New("not UTF-8")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	return s.compiled[kind].Validate(doc)
}

// node is one schema object and the file it sits in (for resolving its relative $refs).
type node struct {
	file string
	m    map[string]any
}

// resolve follows n's $ref, if any: "other.schema.json", "other.schema.json#/$defs/x", "#/$defs/x".
func (s *contractSchemas) resolve(tb testing.TB, n node) node {
	tb.Helper()
	ref, ok := n.m["$ref"].(string)
	if !ok {
		return n
	}
	file, frag, _ := strings.Cut(ref, "#")
	if file == "" {
		file = n.file
	}
	var cur any = s.docs[file]
	if s.docs[file] == nil {
		tb.Fatalf("%s: $ref %q: no such schema file", n.file, ref)
	}
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if tok == "" {
			continue
		}
		m, _ := cur.(map[string]any)
		if cur, ok = m[tok]; !ok || m == nil {
			tb.Fatalf("%s: $ref %q: no %q", n.file, ref, tok)
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		tb.Fatalf("%s: $ref %q is not a schema object", n.file, ref)
	}
	return s.resolve(tb, node{file, m})
}

// objectSchemas returns the kind's schema and every schema its allOf pulls in: together they
// describe the top level of a message.
func (s *contractSchemas) objectSchemas(tb testing.TB, kind Kind) []node {
	tb.Helper()
	var out []node
	var walk func(n node)
	walk = func(n node) {
		out = append(out, n)
		all, _ := n.m["allOf"].([]any)
		for _, a := range all {
			m, _ := a.(map[string]any)
			walk(s.resolve(tb, node{n.file, m}))
		}
	}
	f := kind.String() + ".schema.json"
	walk(node{f, s.docs[f]})
	return out
}

// fields returns the top-level property names and the unconditionally required ones.
func (s *contractSchemas) fields(tb testing.TB, kind Kind) (props, required []string) {
	tb.Helper()
	for _, n := range s.objectSchemas(tb, kind) {
		p, _ := n.m["properties"].(map[string]any)
		for name := range p {
			props = append(props, name)
		}
		r, _ := n.m["required"].([]any)
		for _, name := range r {
			required = append(required, name.(string))
		}
	}
	sort.Strings(props)
	sort.Strings(required)
	return slices.Compact(props), slices.Compact(required)
}

// property returns every subschema that constrains a top-level property: its properties entry,
// and its entries in then/else branches, $refs followed.
func (s *contractSchemas) property(tb testing.TB, kind Kind, name string) []node {
	tb.Helper()
	var out []node
	for _, n := range s.objectSchemas(tb, kind) {
		for _, branch := range []map[string]any{n.m, sub(n.m, "then"), sub(n.m, "else")} {
			if p := sub(sub(branch, "properties"), name); p != nil {
				out = append(out, s.resolve(tb, node{n.file, p}))
			}
		}
	}
	return out
}

func sub(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

// jsonTypes returns the JSON types a schema names, through "type" or the values of "enum".
func jsonTypes(m map[string]any) []string {
	var out []string
	switch t := m["type"].(type) {
	case string:
		out = append(out, t)
	case []any:
		for _, x := range t {
			out = append(out, x.(string))
		}
	}
	enum, _ := m["enum"].([]any)
	for _, v := range enum {
		switch v.(type) {
		case nil:
			out = append(out, "null")
		case string:
			out = append(out, "string")
		default:
			out = append(out, fmt.Sprintf("%T", v))
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func columnsOf(k Kind) (contract, required []string) {
	for _, c := range TableFor(k).Columns {
		if c.Contract {
			contract = append(contract, c.Name)
		}
		if c.Required {
			required = append(required, c.Name)
		}
	}
	sort.Strings(contract)
	sort.Strings(required)
	return contract, required
}

// (a) The schema's fields are the table's contract columns, and it requires what they require.
func TestContractSchemaFieldsAreTableColumns(t *testing.T) {
	s := loadSchemas(t)
	for _, k := range Kinds {
		props, required := s.fields(t, k)
		wantProps, wantRequired := columnsOf(k)
		if !slices.Equal(props, wantProps) {
			t.Errorf("%s.schema.json properties %v,\n  want the Contract columns of table %s: %v", k, props, TableFor(k).Name, wantProps)
		}
		if !slices.Equal(required, wantRequired) {
			t.Errorf("%s.schema.json required %v,\n  want the Required columns of table %s: %v", k, required, TableFor(k).Name, wantRequired)
		}
		for _, c := range TableFor(k).Columns {
			if c.Required && !c.Contract {
				t.Errorf("%s.%s: Required without Contract", TableFor(k).Name, c.Name)
			}
		}
	}
}

// (a, continued) Each property's JSON type fits its column's type, and the length limits are the
// decoder's.
func TestContractSchemaTypesFitColumns(t *testing.T) {
	s := loadSchemas(t)
	defs := sub(s.docs["common.schema.json"], "$defs")
	for _, k := range Kinds {
		for _, c := range TableFor(k).Columns {
			if !c.Contract {
				continue
			}
			nodes := s.property(t, k, c.Name)
			if len(nodes) == 0 {
				t.Errorf("%s: no schema for %s", k, c.Name)
				continue
			}
			var types []string
			for _, n := range nodes {
				types = append(types, jsonTypes(n.m)...)
			}
			sort.Strings(types)
			types = slices.Compact(types)
			switch c.Type {
			case TypeString, TypeLowString:
				if !slices.Contains(types, "string") || slices.ContainsFunc(types, func(t string) bool { return t != "string" && t != "null" }) {
					t.Errorf("%s.%s (%s): schema types %v, want string (or null)", k, c.Name, c.Type.ClickHouse(), types)
				}
				if c.Required != !slices.Contains(types, "null") {
					t.Errorf("%s.%s: schema types %v: null must be allowed exactly when the field is optional", k, c.Name, types)
				}
			case TypeUInt8, TypeUInt32, TypeUInt64:
				limit := map[ColumnType]uint64{TypeUInt8: math.MaxUint8, TypeUInt32: math.MaxUint32, TypeUInt64: math.MaxUint64}[c.Type]
				if !slices.Contains(types, "integer") {
					t.Errorf("%s.%s (%s): schema types %v, want integer", k, c.Name, c.Type.ClickHouse(), types)
				}
				for _, n := range nodes {
					if n.m["type"] == nil {
						continue // a description-only entry; the typed one is in a branch
					}
					lo, lok := n.m["minimum"].(json.Number)
					hi, hok := n.m["maximum"].(json.Number)
					if !lok || !hok || strings.HasPrefix(lo.String(), "-") || !fitsUint(hi.String(), limit) {
						t.Errorf("%s.%s (%s): minimum %v, maximum %v: want bounds inside the column type", k, c.Name, c.Type.ClickHouse(), n.m["minimum"], n.m["maximum"])
					}
				}
			case TypeTime:
				if len(nodes) != 1 || !sameMap(nodes[0].m, sub(defs, "timestamp")) {
					t.Errorf("%s.%s: want $ref common.schema.json#/$defs/timestamp", k, c.Name)
				}
			case TypeMoney:
				if len(nodes) != 1 || !sameMap(nodes[0].m, sub(defs, "amount")) {
					t.Errorf("%s.%s: want $ref common.schema.json#/$defs/amount", k, c.Name)
				}
			default:
				t.Errorf("%s.%s: no rule for column type %s", k, c.Name, c.Type.ClickHouse())
			}
		}
	}
	num := func(m map[string]any, key string) string { v, _ := m[key].(json.Number); return v.String() }
	if got := num(sub(sub(s.docs["common.schema.json"], "properties"), "event_id"), "maxLength"); got != fmt.Sprint(MaxIDBytes) {
		t.Errorf("event_id maxLength %s, want MaxIDBytes = %d", got, MaxIDBytes)
	}
	for _, def := range []string{"id", "optionalText"} {
		if got := num(sub(defs, def), "maxLength"); got != fmt.Sprint(MaxFieldBytes) {
			t.Errorf("$defs/%s maxLength %s, want MaxFieldBytes = %d", def, got, MaxFieldBytes)
		}
	}
	oneOf, _ := sub(defs, "amount")["oneOf"].([]any)
	if len(oneOf) != 2 {
		t.Fatalf("$defs/amount: want oneOf {number, string}")
	}
	if got, want := num(oneOf[0].(map[string]any), "maximum"), fmt.Sprint(int64(MaxMoney)/100); got != want {
		t.Errorf("$defs/amount number maximum %s, want MaxMoney = %s", got, want)
	}
}

func fitsUint(s string, limit uint64) bool {
	var v uint64
	_, err := fmt.Sscan(s, &v)
	return err == nil && v <= limit
}

func sameMap(a, b map[string]any) bool { return a != nil && fmt.Sprint(a) == fmt.Sprint(b) }

// permissiveDecoder turns off what JSON Schema cannot express: the wall clock (skew and horizon).
// The size limit stays: every corpus file is far below it.
func permissiveDecoder() *Decoder {
	return NewDecoder(DecoderConfig{PastHorizon: -1, FutureSkew: time.Duration(math.MaxInt64)})
}

// corpusFile is one example message of testdata/contract/{valid,invalid}/<kind>/. An invalid
// file is named <reason>.<field or ->.<what>.json: the decoder's Reason and Field for it.
type corpusFile struct {
	path   string
	kind   Kind
	valid  bool
	reason Reason
	field  string
	raw    []byte
}

func readCorpus(tb testing.TB) []corpusFile {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "contract", "*", "*", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []corpusFile
	for _, p := range paths {
		parts := strings.Split(filepath.ToSlash(p), "/")
		f := corpusFile{path: p, valid: parts[2] == "valid"}
		if !f.valid && parts[2] != "invalid" {
			tb.Fatalf("%s: want testdata/contract/{valid,invalid}/<kind>/", p)
		}
		for _, k := range Kinds {
			if parts[3] == k.String() {
				f.kind = k
			}
		}
		if f.kind == 0 {
			tb.Fatalf("%s: unknown kind directory %q", p, parts[3])
		}
		if !f.valid {
			name := strings.Split(parts[4], ".")
			if len(name) != 4 || !slices.Contains(Reasons, Reason(name[0])) {
				tb.Fatalf("%s: want <reason>.<field or ->.<what>.json with a schemas.Reason", p)
			}
			f.reason, f.field = Reason(name[0]), strings.TrimPrefix(name[1], "-")
		}
		if f.raw, err = os.ReadFile(p); err != nil {
			tb.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// (b) The JSON Schema validator and the decoder agree on every corpus file, and the decoder gives
// the reason and field the file's name promises.
func TestContractCorpusAgreement(t *testing.T) {
	s := loadSchemas(t)
	files := readCorpus(t)
	var valid, invalid int
	for _, f := range files {
		if f.valid {
			valid++
		} else {
			invalid++
		}
		t.Run(f.path, func(t *testing.T) {
			schemaErr := s.validate(f.kind, f.raw)
			var ev Event
			decodeErr := permissiveDecoder().Decode(f.kind, f.raw, testNow, &ev)
			if f.valid {
				if schemaErr != nil {
					t.Errorf("JSON Schema rejects a valid message: %v", schemaErr)
				}
				if decodeErr != nil {
					t.Errorf("decoder rejects a valid message: %v", decodeErr)
				}
				return
			}
			if schemaErr == nil {
				t.Errorf("JSON Schema accepts an invalid message")
			}
			var ie *InvalidError
			if !errors.As(decodeErr, &ie) {
				t.Fatalf("decoder: got %v, want *InvalidError %s", decodeErr, f.reason)
			}
			if ie.Reason != f.reason || ie.Field != f.field || ie.Kind != f.kind {
				t.Errorf("decoder: got %s/%s/%q (%v), want %s/%s/%q", ie.Kind, ie.Reason, ie.Field, ie, f.kind, f.reason, f.field)
			}
		})
	}
	if valid < 8 || invalid < 15 {
		t.Errorf("corpus has %d valid and %d invalid files, want at least 8 and 15", valid, invalid)
	}
	for _, k := range Kinds {
		n := 0
		for _, f := range files {
			if f.kind == k && f.valid {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no valid corpus file for %s", k)
		}
	}
}

// Each schema's examples are valid for both sides too.
func TestContractSchemaExamples(t *testing.T) {
	s := loadSchemas(t)
	for _, k := range Kinds {
		examples, _ := s.docs[k.String()+".schema.json"]["examples"].([]any)
		if len(examples) == 0 {
			t.Errorf("%s.schema.json has no examples", k)
		}
		for i, ex := range examples {
			raw, err := json.Marshal(ex)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.validate(k, raw); err != nil {
				t.Errorf("%s example %d: JSON Schema: %v", k, i, err)
			}
			var ev Event
			if err := permissiveDecoder().Decode(k, raw, testNow, &ev); err != nil {
				t.Errorf("%s example %d: decoder: %v", k, i, err)
			}
		}
	}
}

// knownGaps are the messages on which JSON Schema and the decoder knowingly disagree, because
// JSON Schema cannot say what the decoder checks. README.md lists them; this test pins them, so a
// change on either side that closes or opens one shows up here. decoder is the Reason under the
// default configuration, "" when the decoder accepts.
var knownGaps = []struct {
	name    string
	kind    Kind
	msg     string
	schema  bool // whether JSON Schema accepts
	decoder Reason
}{
	{"size limit", KindViewer, objViewer.with("pad", `"`+strings.Repeat("x", 64<<10)+`"`).String(), true, ReasonTooLarge},
	{"event time ahead of the clock", KindViewer, objViewer.with("ts", `"2025-06-01T12:05:00.001Z"`).String(), true, ReasonFutureTimestamp},
	{"event time behind the horizon", KindViewer, objViewer.with("ts", `"2025-05-25T11:59:59.999Z"`).String(), true, ReasonStaleTimestamp},
	{"event time in 2300 UTC", KindViewer, objViewer.with("ts", `"2300-01-01T00:00:00Z"`).String(), true, ReasonFutureTimestamp},
	{"byte length of a non-ASCII id", KindViewer, objViewer.with("event_id", `"`+strings.Repeat("观", 50)+`"`).String(), true, ReasonBadValue},
	{"integer ts with an exponent", KindViewer, objViewer.with("ts", `1.748779140e12`).String(), true, ReasonBadTimestamp},
	{"integer with a zero fraction", KindViewer, objCount.with("reported_viewers", `3.0`).String(), true, ReasonBadValue},
	{"quantity with a zero fraction", KindOrder, objOrder.with("quantity", `2.0`).String(), true, ReasonBadValue},
	{"escaped lone surrogate", KindViewer, objViewer.with("viewer_id", `"u-\ud800"`).String(), true, ReasonNotUTF8},
	{"amount string with exponent, sub-cent", KindOrder, objOrder.with("amount", `"1.2345e1"`).String(), true, ReasonBadAmount},
	{"amount string with exponent, over the limit", KindOrder, objOrder.with("amount", `"1e10"`).String(), true, ReasonBadAmount},
	{"amount exponent beyond ±30", KindOrder, objOrder.with("amount", `0e31`).String(), true, ReasonBadAmount},
	{"nesting deeper than maxDepth", KindViewer, objViewer.with("x", strings.Repeat("[", 300)+strings.Repeat("]", 300)).String(), true, ReasonNotJSON},
	{"duplicate key, bad one first", KindViewer, `{"event_id":5,` + objViewer.String()[1:], true, ReasonWrongType},
	{"duplicate key, bad one last", KindViewer, objViewer.String()[:len(objViewer.String())-1] + `,"event_id":5}`, false, ""},
}

func TestContractKnownGaps(t *testing.T) {
	s := loadSchemas(t)
	d := NewDecoder(DecoderConfig{})
	for _, g := range knownGaps {
		err := s.validate(g.kind, []byte(g.msg))
		if (err == nil) != g.schema {
			t.Errorf("%s: JSON Schema accepts = %v, want %v (%v)", g.name, err == nil, g.schema, err)
		}
		var ev Event
		err = d.Decode(g.kind, []byte(g.msg), testNow, &ev)
		var got Reason
		var ie *InvalidError
		if errors.As(err, &ie) {
			got = ie.Reason
		} else if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if got != g.decoder {
			t.Errorf("%s: decoder reason %q (%v), want %q", g.name, got, err, g.decoder)
		}
		if g.schema == (g.decoder == "") {
			t.Errorf("%s: not a gap: both sides agree", g.name)
		}
	}
}

// (c) The Arrow schema has one field per column, in order, with the type the column type implies.
func TestTablesArrowSchema(t *testing.T) {
	want := map[ColumnType]arrow.DataType{
		TypeString:    arrow.BinaryTypes.String,
		TypeLowString: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String},
		TypeTime:      &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"},
		TypeMoney:     &arrow.Decimal128Type{Precision: 18, Scale: 2},
		TypeUInt8:     arrow.PrimitiveTypes.Uint8,
		TypeUInt32:    arrow.PrimitiveTypes.Uint32,
		TypeUInt64:    arrow.PrimitiveTypes.Uint64,
		TypeFloat64:   arrow.PrimitiveTypes.Float64,
	}
	for _, tb := range Tables {
		sch := tb.ArrowSchema()
		if sch.NumFields() != len(tb.Columns) {
			t.Fatalf("%s: %d Arrow fields for %d columns", tb.Name, sch.NumFields(), len(tb.Columns))
		}
		for i, c := range tb.Columns {
			f := sch.Field(i)
			if f.Name != c.Name {
				t.Errorf("%s field %d: name %q, want %q", tb.Name, i, f.Name, c.Name)
			}
			w, ok := want[c.Type]
			if !ok {
				t.Errorf("%s.%s: unexpected column type %d", tb.Name, c.Name, c.Type)
				continue
			}
			if !arrow.TypeEqual(f.Type, w) {
				t.Errorf("%s.%s: Arrow type %s, want %s", tb.Name, c.Name, f.Type, w)
			}
		}
		if v, ok := sch.Metadata().GetValue("table"); !ok || v != tb.Name {
			t.Errorf("%s: Arrow metadata table = %q", tb.Name, v)
		}
		if !slices.Equal(tb.ColumnNames(), columnNames(tb)) {
			t.Errorf("%s: ColumnNames %v", tb.Name, tb.ColumnNames())
		}
	}
}

func columnNames(tb *Table) []string {
	var out []string
	for _, c := range tb.Columns {
		out = append(out, c.Name)
	}
	return out
}

// (d) Every ClickHouse type is one the store knows how to write; names are unique and sane.
func TestTablesClickHouseTypes(t *testing.T) {
	known := map[string]ColumnType{
		"String":                 TypeString,
		"LowCardinality(String)": TypeLowString,
		"DateTime64(3, 'UTC')":   TypeTime,
		"Decimal(18, 2)":         TypeMoney,
		"UInt8":                  TypeUInt8,
		"UInt32":                 TypeUInt32,
		"UInt64":                 TypeUInt64,
		"Float64":                TypeFloat64,
	}
	ident := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for _, tb := range Tables {
		seen := map[string]bool{}
		for _, c := range tb.Columns {
			ch := c.Type.ClickHouse()
			if ct, ok := known[ch]; !ok || ct != c.Type {
				t.Errorf("%s.%s: ClickHouse type %q is not in the known set", tb.Name, c.Name, ch)
			}
			if !ident.MatchString(c.Name) || seen[c.Name] {
				t.Errorf("%s.%s: bad or duplicate column name", tb.Name, c.Name)
			}
			seen[c.Name] = true
		}
		if tb.Kind != 0 || tb == DeadLetters { // rows read from Kafka (not derived tables)
			for _, src := range []string{"kafka_topic", "kafka_partition", "kafka_offset", "ingest_time"} {
				if !seen[src] {
					t.Errorf("%s: no %s column", tb.Name, src)
				}
			}
		}
		if tb.Kind != 0 && TableFor(tb.Kind) != tb {
			t.Errorf("TableFor(%s) is not %s", tb.Kind, tb.Name)
		}
	}
	if TableFor(0) != nil {
		t.Error("TableFor(0) != nil")
	}
	for _, bad := range []ColumnType{0, TypeFloat64 + 1} {
		for name, f := range map[string]func(){"ClickHouse": func() { bad.ClickHouse() }, "Arrow": func() { bad.Arrow() }} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("ColumnType(%d).%s did not panic", bad, name)
					}
				}()
				f()
			}()
		}
	}
	// Decimal(18, 2) holds 16 integer digits: the per-event limit leaves room for sums of a
	// million maximal amounts.
	if int64(MaxMoney)*1_000_000 >= 1_000_000_000_000_000_000 {
		t.Errorf("MaxMoney %d leaves no room for sums in Decimal(18, 2)", MaxMoney)
	}
}

// README.md: every reason has a row, the example messages pass both sides, and the stored-table
// section is generated from tables.go (go test ./schemas -run README -update rewrites it).
func TestREADME(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, r := range Reasons {
		if !strings.Contains(readme, "| `"+string(r)+"` |") {
			t.Errorf("README.md: no table row for reason %s", r)
		}
	}
	s := loadSchemas(t)
	examples := regexp.MustCompile("(?s)<!-- example: ([a-z]+) -->\\s*```json\\n(.*?)```").FindAllStringSubmatch(readme, -1)
	seen := map[string]bool{}
	for _, m := range examples {
		var kind Kind
		for _, k := range Kinds {
			if k.String() == m[1] {
				kind = k
			}
		}
		if kind == 0 {
			t.Errorf("README.md: example of unknown kind %q", m[1])
			continue
		}
		seen[m[1]] = true
		if err := s.validate(kind, []byte(m[2])); err != nil {
			t.Errorf("README.md %s example: JSON Schema: %v", kind, err)
		}
		var ev Event
		if err := permissiveDecoder().Decode(kind, []byte(m[2]), testNow, &ev); err != nil {
			t.Errorf("README.md %s example: decoder: %v", kind, err)
		}
	}
	for _, k := range Kinds {
		if !seen[k.String()] {
			t.Errorf("README.md: no example for %s", k)
		}
	}

	const begin, end = "<!-- tables:begin (generated by go test -run README -update) -->\n", "<!-- tables:end -->"
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md: no %q ... %q section", begin, end)
	}
	generated := tablesMarkdown()
	if readme[i+len(begin):j] == generated {
		return
	}
	if *update {
		readme = readme[:i+len(begin)] + generated + readme[j:]
		if err := os.WriteFile("README.md", []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md: the stored-tables section is out of date with tables.go; run go test ./schemas -run README -update")
}

func tablesMarkdown() string {
	var b strings.Builder
	for _, tb := range Tables {
		fmt.Fprintf(&b, "\n#### `%s`\n\n", tb.Name)
		b.WriteString("| column | ClickHouse | Arrow | from | doc |\n| --- | --- | --- | --- | --- |\n")
		for _, c := range tb.Columns {
			from := "livepulse"
			switch {
			case c.Required:
				from = "contract, required"
			case c.Contract:
				from = "contract"
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %s | %s |\n", c.Name, c.Type.ClickHouse(), c.Type.Arrow(), from,
				strings.ReplaceAll(c.Doc, "|", `\|`))
		}
	}
	b.WriteString("\n")
	return b.String()
}
