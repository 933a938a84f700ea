package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// ClickHouseServer is a clickhouse-server process (Debian's, 18.16 from 2018: too old for
// livepulse's schema, but a real server on the native protocol for the clickhouse-go backend).
type ClickHouseServer struct {
	DSN    string
	Addr   string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartClickHouseServer starts clickhouse-server on free loopback ports with its data in a
// temporary directory; skipped on a developer machine without it, failed in CI.
func StartClickHouseServer(t testing.TB) *ClickHouseServer {
	t.Helper()
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("clickhouse-server needed in CI (scripts/setup.sh --test installs it): %v", err)
		}
		t.Skipf("clickhouse-server not installed: %v", err)
	}
	dir := t.TempDir()
	tcp, http := freePort(t), freePort(t)
	config := fmt.Sprintf(`<yandex>
  <logger><level>warning</level><log>%[1]s/server.log</log><errorlog>%[1]s/server.err.log</errorlog></logger>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>`, dir, tcp, http)
	users := `<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>`
	must(t, os.WriteFile(filepath.Join(dir, "config.xml"), []byte(config), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "users.xml"), []byte(users), 0o644))
	s := &ClickHouseServer{
		DSN:  fmt.Sprintf("clickhouse://default:@127.0.0.1:%d/default?dial_timeout=2s", tcp),
		Addr: fmt.Sprintf("127.0.0.1:%d", tcp),
		dir:  dir,
	}
	s.cmd = exec.Command(bin, "--config-file="+filepath.Join(dir, "config.xml"))
	s.Start(t)
	t.Cleanup(s.Kill)
	return s
}

// Start (re)starts the server process and waits until it accepts connections.
func (s *ClickHouseServer) Start(t testing.TB) {
	t.Helper()
	s.cmd = exec.Command(s.cmd.Path, s.cmd.Args[1:]...)
	s.cmd.Dir = s.dir
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("cannot start clickhouse-server: %v", err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(s.cmd, s.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "server.err.log"))
			t.Fatalf("clickhouse-server exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("clickhouse-server not listening on %s after 30 s", s.Addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill stops the server with SIGKILL (a crash, not a shutdown).
func (s *ClickHouseServer) Kill() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.exited
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
