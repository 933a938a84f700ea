package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/testenv"
)

// sentinelPassword must never reach a log line, an error or /metrics.
const sentinelPassword = "s3ntinel-LIVEPULSE-pw-4e1d"

// livepulse runs the binary under test with args and extra environment, its output in a file.
func livepulse(t *testing.T, env []string, args ...string) (cmd *exec.Cmd, output func() string, exited chan struct{}) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.CreateTemp(t.TempDir(), "livepulse-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(exe, args...)
	cmd.Env = append(append(os.Environ(), "LIVEPULSE_AS_MAIN=1"), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited = make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	return cmd, func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }, exited
}

// TestSecretsStayOut runs `livepulse run` against a broker that requires SASL/SCRAM over TLS,
// with the password from the environment and then from a file: the start-up log says how it
// connects, and neither the log nor /metrics holds the password; a wrong password stops it with
// a clear error that does not hold it either. The same for `livepulse query` against a
// ClickHouse server user with a password.
func TestSecretsStayOut(t *testing.T) {
	testenv.Library(t)
	if testing.Short() {
		t.Skip("starts processes")
	}
	addr, caFile := testenv.SecureBroker(t, 2, map[string]string{"SCRAM-SHA-512:livepulse": sentinelPassword})
	dataDir := t.TempDir()
	run := []string{"run", "--brokers", addr, "--data-dir", dataDir, "--http", "127.0.0.1:0", "--kafka-sasl", "SCRAM-SHA-512",
		"--kafka-user", "livepulse", "--kafka-tls-ca-file", caFile}
	cmd, output, exited := livepulse(t, []string{"LIVEPULSE_KAFKA_PASSWORD=" + sentinelPassword}, run...)
	var metrics string
	deadline := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("never ready; log:\n%s", output())
		}
		select {
		case <-exited:
			t.Fatalf("exited; log:\n%s", output())
		case <-time.After(100 * time.Millisecond):
		}
		a, err := os.ReadFile(filepath.Join(dataDir, "livepulse.http"))
		if err != nil {
			continue
		}
		if resp, err := http.Get("http://" + string(a) + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
			continue
		}
		resp, err := http.Get("http://" + string(a) + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics = string(b)
		break
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-exited
	log := output()
	if !strings.Contains(log, "security=\"sasl=SCRAM-SHA-512 user=livepulse tls\"") {
		t.Errorf("the start-up log does not say how it connects to Kafka:\n%s", log)
	}
	if !strings.Contains(metrics, "livepulse_consumed_messages_total") && !strings.Contains(metrics, "livepulse_stored_rows_total") {
		t.Errorf("/metrics looks empty:\n%.500s", metrics)
	}
	for what, text := range map[string]string{"log": log, "/metrics": metrics} {
		if strings.Contains(text, sentinelPassword) {
			t.Errorf("%s holds the Kafka password", what)
		}
	}

	// A wrong password, from a file: a clear error, without the password.
	passFile := filepath.Join(t.TempDir(), "kafka-password")
	os.WriteFile(passFile, []byte(sentinelPassword+"-wrong\n"), 0o600)
	cmd, output, exited = livepulse(t, nil, append(run, "--kafka-password-file", passFile)...)
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("kept running with a wrong password; log:\n%s", output())
	}
	log = output()
	if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(log, "cannot authenticate to Kafka with SASL SCRAM-SHA-512 over TLS") {
		t.Errorf("wrong password: exit %d, log:\n%s", cmd.ProcessState.ExitCode(), log)
	}
	if strings.Contains(log, sentinelPassword) {
		t.Errorf("the log holds the password:\n%s", log)
	}

	// ClickHouse: the password from the environment; a wrong one fails without showing it.
	srv := testenv.StartClickHouseServer(t)
	srv.AddUser(t, "livepulse", sentinelPassword)
	query := []string{"query", "--clickhouse", srv.DSN, "--clickhouse-user", "livepulse", "SELECT 42"}
	cmd, output, exited = livepulse(t, []string{"LIVEPULSE_CLICKHOUSE_PASSWORD=" + sentinelPassword}, query...)
	<-exited
	if out := output(); cmd.ProcessState.ExitCode() != 0 || !strings.Contains(out, "42") || strings.Contains(out, sentinelPassword) {
		t.Errorf("query with the right password: exit %d, output:\n%s", cmd.ProcessState.ExitCode(), out)
	}
	cmd, output, exited = livepulse(t, []string{"LIVEPULSE_CLICKHOUSE_PASSWORD=" + sentinelPassword + "-wrong"}, query...)
	<-exited
	if out := output(); cmd.ProcessState.ExitCode() == 0 || !strings.Contains(out, "Wrong password for user livepulse") || strings.Contains(out, sentinelPassword) {
		t.Errorf("query with a wrong password: exit %d, output:\n%s", cmd.ProcessState.ExitCode(), out)
	}
}

// TestQueryCommandBounded: `livepulse query` applies the read-only gate and its limit flags.
func TestQueryCommandBounded(t *testing.T) {
	testenv.Library(t)
	dir := t.TempDir()
	run := func(args ...string) (int, string) {
		t.Helper()
		cmd, output, exited := livepulse(t, nil, append([]string{"query", "--data-dir", dir, "--query-max-rows", "10", "--query-timeout", "1s"}, args...)...)
		<-exited
		return cmd.ProcessState.ExitCode(), output()
	}
	if code, out := run("SELECT number FROM system.numbers LIMIT 10"); code != 0 || strings.Count(out, "\n") != 10 {
		t.Errorf("10 rows at a limit of 10: exit %d:\n%s", code, out)
	}
	for sql, want := range map[string]string{
		"SELECT number FROM system.numbers LIMIT 11":                              "query exceeds its limit",
		"SELECT count() FROM system.numbers":                                      "query exceeds its limit",
		"SELECT number FROM system.numbers LIMIT 11 SETTINGS max_result_rows = 0": "only read-only queries are allowed",
		"DROP TABLE orders": "only read-only queries are allowed",
		"SELECT * FROM url('http://127.0.0.1:1/x', 'CSV', 'a String')": "only read-only queries are allowed",
	} {
		if code, out := run(sql); code == 0 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, want an error containing %q:\n%s", sql, code, want, out)
		}
	}
}
