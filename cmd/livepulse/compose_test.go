package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The deployment files live at the repository root, two levels up from this package.
var (
	composeFile     = filepath.Join("..", "..", "docker-compose.yml")
	composeRepoRoot = filepath.Join("..", "..")
)

// TestComposeConfig validates docker-compose.yml with docker-compose itself (1.29 here; it has no
// JSON output, so the YAML that `config` prints is read by parseComposeYAML) and checks the shape
// of the stack: the services, their healthchecks and start order, the replicated consumer, and
// that the ClickHouse password comes only from CLICKHOUSE_PASSWORD.
func TestComposeConfig(t *testing.T) {
	bin := composeBinary(t)

	if _, stderr, err := composeRun(t, bin, nil, "-f", composeFile, "config", "-q"); err != nil {
		t.Fatalf("docker-compose -f %s config -q: %v\n%s", composeFile, err, stderr)
	}

	// Render with a password of our own, to see where it lands.
	const password = "compose-test-Pw-42"
	stdout, stderr, err := composeRun(t, bin, []string{"CLICKHOUSE_PASSWORD=" + password},
		"-f", composeFile, "config")
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, stderr)
	}
	cfg := parseComposeYAML(stdout)
	services := cfg.child("services")
	if services == nil {
		t.Fatalf("no services in the rendered config:\n%s", stdout)
	}
	service := func(name string) *composeNode {
		t.Helper()
		s := services.child(name)
		if s == nil {
			t.Fatalf("service %q is missing; have %v", name, services.keys())
		}
		return s
	}
	for _, name := range []string{"kafka", "clickhouse", "migrate", "livepulse", "simulator", "grafana"} {
		service(name)
	}

	for _, name := range []string{"kafka", "clickhouse", "livepulse"} {
		hc := service(name).child("healthcheck")
		if hc == nil || hc.child("test") == nil || len(hc.child("test").items) == 0 {
			t.Errorf("service %s has no healthcheck test", name)
		}
	}

	dependsOn := func(svc, dep, condition string) {
		t.Helper()
		d := service(svc).child("depends_on").child(dep)
		if d == nil {
			t.Errorf("service %s does not depend on %s", svc, dep)
			return
		}
		if got := d.child("condition").text(); got != condition {
			t.Errorf("service %s waits for %s to be %q, want %q", svc, dep, got, condition)
		}
	}
	dependsOn("livepulse", "kafka", "service_healthy")
	dependsOn("livepulse", "clickhouse", "service_healthy")
	dependsOn("livepulse", "migrate", "service_completed_successfully")
	dependsOn("migrate", "clickhouse", "service_healthy")
	dependsOn("simulator", "kafka", "service_healthy")

	lp := service("livepulse")
	if n, err := strconv.Atoi(lp.child("deploy").child("replicas").text()); err != nil || n < 2 {
		t.Errorf("livepulse deploy.replicas = %q, want 2 or more", lp.child("deploy").child("replicas").text())
	}
	if lp.child("container_name") != nil {
		t.Errorf("livepulse sets container_name, which makes it impossible to scale")
	}
	// A fixed host port would make the second replica fail to start.
	for _, p := range lp.child("ports").itemList() {
		if hostPort := composeHostPort(p); hostPort != "" {
			t.Errorf("livepulse publishes the fixed host port %s (%q): replicas would collide", hostPort, p)
		}
	}
	if cmd := strings.Join(lp.child("command").itemList(), " "); !strings.Contains(cmd, "run") ||
		!strings.Contains(cmd, "kafka:9092") || !strings.Contains(cmd, "0.0.0.0:8080") {
		t.Errorf("livepulse command = %q, want `run` against kafka:9092 serving on 0.0.0.0:8080", cmd)
	}
	if !strings.Contains(strings.Join(service("simulator").child("command").itemList(), " "), "simulate") {
		t.Errorf("simulator does not run `livepulse simulate`")
	}

	// The password reaches every consumer of it from the one variable...
	for _, svc := range []string{"clickhouse", "grafana"} {
		if got := service(svc).child("environment").child("CLICKHOUSE_PASSWORD").text(); got != password {
			t.Errorf("service %s: CLICKHOUSE_PASSWORD = %q, want the value of $CLICKHOUSE_PASSWORD", svc, got)
		}
	}
	for _, svc := range []string{"livepulse", "migrate"} {
		dsn := service(svc).child("environment").child("LIVEPULSE_CLICKHOUSE").text()
		if !strings.HasPrefix(dsn, "clickhouse://") || !strings.Contains(dsn, ":"+password+"@clickhouse:9000") {
			t.Errorf("service %s: LIVEPULSE_CLICKHOUSE = %q, want a native DSN for clickhouse:9000 with $CLICKHOUSE_PASSWORD", svc, dsn)
		}
	}
	// ... and the default is written nowhere else.
	if strings.Contains(stdout, ":livepulse@") {
		t.Errorf("a DSN keeps the default password although CLICKHOUSE_PASSWORD is set:\n%s", stdout)
	}

	// Grafana: the official ClickHouse plugin, provisioning and dashboards mounted from the repo.
	g := service("grafana")
	if plugins := g.child("environment").child("GF_INSTALL_PLUGINS").text(); !strings.Contains(plugins, "grafana-clickhouse-datasource") {
		t.Errorf("grafana GF_INSTALL_PLUGINS = %q, want grafana-clickhouse-datasource", plugins)
	}
	targets := map[string]bool{}
	for _, v := range g.child("volumes").itemList() {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			continue
		}
		targets[parts[1]] = true
		if filepath.IsAbs(parts[0]) { // a bind mount: its source must exist
			if _, err := os.Stat(parts[0]); err != nil {
				t.Errorf("grafana mounts %s, which does not exist: %v", parts[0], err)
			}
		}
	}
	for _, want := range []string{"/etc/grafana/provisioning", "/var/lib/grafana/dashboards",
		"/var/lib/grafana/plugins/livepulse-livepulse-datasource"} {
		if !targets[want] {
			t.Errorf("grafana does not mount %s; volumes %q", want, g.child("volumes").itemList())
		}
	}
	// livepulse's own (unsigned) datasource plugin, copied from the image before Grafana starts, and
	// the token it sends, the same as the replicas require.
	if got := g.child("environment").child("GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS").text(); !strings.Contains(got, "livepulse-livepulse-datasource") {
		t.Errorf("grafana GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS = %q, want livepulse-livepulse-datasource", got)
	}
	if got, want := g.child("environment").child("LIVEPULSE_TOKEN").text(), lp.child("environment").child("LIVEPULSE_TOKEN").text(); got == "" || got != want {
		t.Errorf("grafana LIVEPULSE_TOKEN = %q, want livepulse's %q", got, want)
	}
	dependsOn("grafana", "grafana-plugin", "service_completed_successfully")
}

// TestDeployFiles checks the files the compose stack mounts or builds from, without docker-compose.
func TestDeployFiles(t *testing.T) {
	read := func(rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(composeRepoRoot, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	ds := read("deploy/grafana/provisioning/datasources/clickhouse.yaml")
	for _, want := range []string{
		"type: grafana-clickhouse-datasource", "uid: livepulse-clickhouse", "host: clickhouse",
		"port: 9000", "protocol: native", "password: $CLICKHOUSE_PASSWORD",
	} {
		if !strings.Contains(ds, want) {
			t.Errorf("the ClickHouse datasource lacks %q", want)
		}
	}
	lpds := read("deploy/grafana/provisioning/datasources/livepulse.yaml")
	for _, want := range []string{"type: livepulse-livepulse-datasource", "uid: livepulse-api", "url: http://livepulse:8080", "token: $LIVEPULSE_TOKEN"} {
		if !strings.Contains(lpds, want) {
			t.Errorf("the livepulse datasource lacks %q", want)
		}
	}
	if dash := read("deploy/grafana/provisioning/dashboards/livepulse.yaml"); !strings.Contains(dash, "path: /var/lib/grafana/dashboards") {
		t.Errorf("the dashboard provider does not read /var/lib/grafana/dashboards")
	}

	df := read("Dockerfile")
	for _, want := range []string{"FROM golang:", "FROM debian:bookworm-slim", `ENTRYPOINT ["livepulse"]`, "EXPOSE 8080", "CGO_ENABLED=1"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	user := ""
	for _, line := range strings.Split(df, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "USER" {
			user = f[1]
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0:") || user == "0" {
		t.Errorf("the runtime image runs as %q, want a non-root USER", user)
	}

	// Grafana mounts dashboards/ as is: a dashboard that is not valid JSON fails there silently.
	files, _ := filepath.Glob(filepath.Join(composeRepoRoot, "dashboards", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Errorf("%s is not valid JSON", f)
		}
	}
}

// composeBinary finds docker-compose, skipping the test without it unless CI is set.
func composeBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("docker-compose is required when CI is set: %v", err)
		}
		t.Skipf("docker-compose is not on PATH (%v); set CI to make this a failure", err)
	}
	return bin
}

// composeRun runs docker-compose with extra environment variables; it needs no Docker engine for
// `config`.
func composeRun(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...) // later entries win
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// composeHostPort returns the host port of a short-syntax port ("[IP:][HOST:]CONTAINER[/proto]")
// or of a long-syntax one flattened by parseComposeYAML ("… published: N …"); "" when Docker picks it.
func composeHostPort(p string) string {
	if i := strings.Index(p, "published:"); i >= 0 {
		if f := strings.Fields(p[i+len("published:"):]); len(f) > 0 {
			return strings.Trim(f[0], `"'`)
		}
		return ""
	}
	p, _, _ = strings.Cut(p, "/")
	parts := strings.Split(p, ":")
	switch len(parts) {
	case 2: // HOST:CONTAINER
		return parts[0]
	case 3: // IP:HOST:CONTAINER, IP::CONTAINER
		return parts[1]
	}
	return ""
}

// composeNode is a node of the block-style YAML that `docker-compose config` prints: mappings
// become children, a sequence becomes items (each item's text, with any nested lines appended),
// and a scalar becomes value. It reads that output, not YAML in general; that is enough here
// without a YAML dependency.
type composeNode struct {
	value    string
	children map[string]*composeNode
	items    []string
}

// child returns the named child, or nil; it may be called on nil.
func (n *composeNode) child(key string) *composeNode {
	if n == nil {
		return nil
	}
	return n.children[key]
}

func (n *composeNode) text() string {
	if n == nil {
		return ""
	}
	return n.value
}

func (n *composeNode) itemList() []string {
	if n == nil {
		return nil
	}
	return n.items
}

func (n *composeNode) keys() []string {
	var ks []string
	if n != nil {
		for k := range n.children {
			ks = append(ks, k)
		}
	}
	return ks
}

func parseComposeYAML(src string) *composeNode {
	newNode := func(v string) *composeNode { return &composeNode{value: v, children: map[string]*composeNode{}} }
	type frame struct {
		indent int
		node   *composeNode
	}
	root := newNode("")
	stack := []frame{{-1, root}}
	var list *composeNode // the sequence being read, if any
	listIndent := -1
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		isItem := trimmed == "-" || strings.HasPrefix(trimmed, "- ")
		if list != nil {
			if indent > listIndent { // a continuation or nested line of the last item
				list.items[len(list.items)-1] += " " + trimmed
				continue
			}
			if indent == listIndent && isItem {
				list.items = append(list.items, composeUnquote(strings.TrimSpace(trimmed[1:])))
				continue
			}
			list = nil
		}
		// PyYAML writes a sequence at its key's indentation: an item belongs to the key at its own
		// indentation, a key to the one above it.
		for len(stack) > 1 && (stack[len(stack)-1].indent > indent || !isItem && stack[len(stack)-1].indent == indent) {
			stack = stack[:len(stack)-1]
		}
		top := stack[len(stack)-1]
		if isItem {
			top.node.items = append(top.node.items, composeUnquote(strings.TrimSpace(trimmed[1:])))
			list, listIndent = top.node, indent
			continue
		}
		key, value, ok := composeSplitKey(trimmed)
		if !ok {
			if top.node.value != "" { // a long scalar folded onto the next line
				top.node.value += " " + trimmed
			}
			continue
		}
		n := newNode(composeUnquote(value))
		top.node.children[key] = n
		stack = append(stack, frame{indent, n})
	}
	return root
}

// composeSplitKey splits "key: value" or "key:"; ok is false for a line that is not a mapping key.
func composeSplitKey(s string) (key, value string, ok bool) {
	if s[0] == '\'' || s[0] == '"' {
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 || !strings.HasPrefix(s[end+2:], ":") {
			return "", "", false
		}
		rest := s[end+3:]
		if rest != "" && rest[0] != ' ' {
			return "", "", false
		}
		return s[1 : end+1], strings.TrimSpace(rest), true
	}
	if strings.HasSuffix(s, ":") && !strings.Contains(s, ": ") {
		return s[:len(s)-1], "", true
	}
	k, v, found := strings.Cut(s, ": ")
	if !found {
		return "", "", false
	}
	return k, strings.TrimSpace(v), true
}

func composeUnquote(s string) string {
	if len(s) >= 2 {
		switch {
		case s[0] == '\'' && s[len(s)-1] == '\'':
			return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
		case s[0] == '"' && s[len(s)-1] == '"':
			if u, err := strconv.Unquote(s); err == nil {
				return u
			}
		}
	}
	return s
}
