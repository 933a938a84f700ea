package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/livepulse/livepulse/pipeline/secure"
)

// ServerSecurity is how livepulse authenticates to a ClickHouse server and encrypts the
// connection, beyond what the DSN says. The zero value leaves the DSN as it is.
type ServerSecurity struct {
	// Username and Password replace the DSN's when set. Password is never logged or put in an
	// error.
	Username, Password string
	// TLS encrypts the connection (use the server's secure native port, 9440 by default).
	TLS secure.TLS
}

// OpenServerSecure connects to dsn with sec applied.
func OpenServerSecure(ctx context.Context, dsn string, sec ServerSecurity) (*Server, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("cannot parse ClickHouse DSN: %w", redactDSNError(err, dsn))
	}
	if sec.Username != "" {
		opts.Auth.Username = sec.Username
	}
	if sec.Password != "" {
		opts.Auth.Password = sec.Password
	}
	if sec.TLS.On() {
		if opts.TLS, err = sec.TLS.Config(); err != nil {
			return nil, err
		}
	}
	addr := strings.Join(opts.Addr, ",")
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to ClickHouse at %s: %w", addr, redact(err, opts.Auth.Password))
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("cannot reach ClickHouse at %s as %s: %w", addr, opts.Auth.Username, redact(err, opts.Auth.Password))
	}
	s := &Server{conn: conn, addr: addr}
	if opts.Protocol == clickhouse.HTTP {
		s.http = newHTTPQuerier(opts)
	}
	return s, nil
}

// redact removes secret from err's text, in case a driver ever echoes it.
func redact(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), secret, "<redacted>"))
}
