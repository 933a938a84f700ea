package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livepulse/livepulse/pipeline/secure"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/testenv"
)

const sentinelPassword = "s3ntinel-CH-PASSWORD-91c2"

// TestServerCredentials connects to a real clickhouse-server as a user with a password: the
// right one (from ServerSecurity, replacing the DSN's) works, a wrong one fails with an error
// that names the user but not the password, also when the wrong password is in the DSN.
func TestServerCredentials(t *testing.T) {
	srv := testenv.StartClickHouseServer(t)
	srv.AddUser(t, "livepulse", sentinelPassword)
	ctx := context.Background()
	var logs bytes.Buffer
	b, err := store.OpenServerSecure(ctx, srv.DSN, store.ServerSecurity{Username: "livepulse", Password: sentinelPassword})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(b, slog.New(slog.NewTextHandler(&logs, nil)))
	// 18.16 has no currentUser(); the query finds itself in system.processes.
	if out, err := st.QueryReadOnly(ctx, "SELECT user FROM system.processes WHERE query LIKE '%whoami%'", ""); err != nil || string(out) != "livepulse\n" {
		t.Errorf("connected as %q, %v; want livepulse", out, err)
	}
	st.Close()

	wrong := sentinelPassword + "x"
	_, err = store.OpenServerSecure(ctx, srv.DSN, store.ServerSecurity{Username: "livepulse", Password: wrong})
	if err == nil {
		t.Fatal("a wrong password connected")
	}
	if strings.Contains(err.Error(), sentinelPassword) || !strings.Contains(err.Error(), "livepulse") {
		t.Errorf("wrong password: %v, want an error naming the user and not the password", err)
	}
	t.Logf("wrong password: %v", err)
	dsn := strings.Replace(srv.DSN, "default:@", "livepulse:"+wrong+"@", 1)
	if _, err := store.OpenServer(ctx, dsn); err == nil || strings.Contains(err.Error(), sentinelPassword) {
		t.Errorf("wrong password in the DSN: %v", err)
	}
	if _, err := store.OpenServer(ctx, "clickhouse://livepulse:"+sentinelPassword+"@127.0.0.1:bad/db"); err == nil || strings.Contains(err.Error(), sentinelPassword) {
		t.Errorf("unparsable DSN: %v", err)
	}
	if strings.Contains(logs.String(), sentinelPassword) {
		t.Error("a log line holds the password")
	}
	// TLS material is checked before dialling.
	bad := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := store.OpenServerSecure(ctx, srv.DSN, store.ServerSecurity{TLS: secure.TLS{CAFile: bad}}); !errors.Is(err, secure.ErrConfig) {
		t.Errorf("a bad CA file: %v, want secure.ErrConfig", err)
	}
	// A TLS client against the plaintext port fails to handshake rather than sending anything.
	if _, err := store.OpenServerSecure(ctx, srv.DSN, store.ServerSecurity{Username: "livepulse", Password: sentinelPassword, TLS: secure.TLS{Enabled: true}}); err == nil || strings.Contains(err.Error(), sentinelPassword) {
		t.Errorf("TLS against a plaintext port: %v", err)
	}
}
