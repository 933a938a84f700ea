package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// AddUser restarts the server with one more user, name with password (any network on loopback),
// for tests of credentials.
func (s *ClickHouseServer) AddUser(t testing.TB, name, password string) {
	t.Helper()
	path := filepath.Join(s.dir, "users.xml")
	users, err := os.ReadFile(path)
	must(t, err)
	user := fmt.Sprintf(`<%[1]s><password>%[2]s</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></%[1]s></users>`, name, password)
	must(t, os.WriteFile(path, []byte(strings.Replace(string(users), "</users>", user, 1)), 0o644))
	s.Kill()
	s.Start(t)
}
