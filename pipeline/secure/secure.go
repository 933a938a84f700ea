// Package secure reads credentials and TLS material for livepulse's connections to Kafka and
// ClickHouse. Its errors name files and settings, never a secret.
package secure

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrConfig is returned (wrapped) for an unusable security setting.
var ErrConfig = errors.New("invalid security configuration")

// Secret returns the secret in file if file is set (trailing newlines trimmed), else the
// environment variable env. Secrets come from files or the environment rather than flags, which
// any user can read in the process list.
func Secret(env, file string) (string, error) {
	if file == "" {
		return os.Getenv(env), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%w: cannot read secret file: %w", ErrConfig, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%w: secret file %s is empty", ErrConfig, file)
	}
	return s, nil
}

// TLS is a client TLS configuration from PEM files. The zero value is TLS off.
type TLS struct {
	// Enabled turns TLS on; implied by any file.
	Enabled bool
	// CAFile is a PEM bundle of the CAs that sign the server's certificate; "" uses the system's.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key (mutual TLS); both or neither.
	CertFile, KeyFile string
	// ServerName overrides the name checked in the server's certificate (default: the host).
	ServerName string
}

// On reports whether TLS is on.
func (t TLS) On() bool { return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" }

// Config builds the tls.Config; nil when TLS is off.
func (t TLS) Config() (*tls.Config, error) {
	if !t.On() {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: cannot read CA file: %w", ErrConfig, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: no PEM certificate in CA file %s", ErrConfig, t.CAFile)
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("%w: a client certificate needs both a certificate and a key file", ErrConfig)
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			// LoadX509KeyPair's errors describe the PEM structure, never the key material.
			return nil, fmt.Errorf("%w: cannot load client certificate %s: %w", ErrConfig, t.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
