package secure_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/livepulse/livepulse/pipeline/secure"
	"github.com/livepulse/livepulse/pipeline/testenv"
)

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	os.WriteFile(file, []byte("from-file\r\n"), 0o600)
	t.Setenv("LIVEPULSE_TEST_SECRET", "from-env")
	f := func(file, want string, wantErr bool) {
		t.Helper()
		got, err := secure.Secret("LIVEPULSE_TEST_SECRET", file)
		if got != want || (err != nil) != wantErr || (err != nil && !errors.Is(err, secure.ErrConfig)) {
			t.Errorf("Secret(%q) = %q, %v; want %q (error %v)", file, got, err, want, wantErr)
		}
	}
	f("", "from-env", false)
	f(file, "from-file", false) // the file wins; trailing newlines trimmed
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	f(empty, "", true)
	f(filepath.Join(dir, "missing"), "", true)
}

func TestTLSConfig(t *testing.T) {
	if c, err := (secure.TLS{}).Config(); c != nil || err != nil {
		t.Errorf("zero TLS: %v, %v; want off", c, err)
	}
	ca, _ := testenv.TestCA(t)
	c, err := secure.TLS{CAFile: ca, ServerName: "broker-1"}.Config()
	if err != nil || c.RootCAs == nil || c.ServerName != "broker-1" || c.MinVersion == 0 {
		t.Errorf("CA file: %+v, %v", c, err)
	}
	f := func(tl secure.TLS, want string) {
		t.Helper()
		if _, err := tl.Config(); !errors.Is(err, secure.ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want ErrConfig containing %q", tl, err, want)
		}
	}
	f(secure.TLS{CertFile: ca}, "both a certificate and a key")
	f(secure.TLS{CertFile: ca, KeyFile: ca}, "cannot load client certificate")
	f(secure.TLS{CAFile: filepath.Join(t.TempDir(), "missing")}, "cannot read CA file")
}
