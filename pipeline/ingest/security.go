package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/livepulse/livepulse/pipeline/secure"
)

// Security is how livepulse authenticates to Kafka and encrypts the connection. The zero value
// is plaintext without authentication.
type Security struct {
	// SASLMechanism is "" (none), "SCRAM-SHA-256", "SCRAM-SHA-512" or "PLAIN" (only over TLS
	// in production: the password travels as is).
	SASLMechanism string
	// Username and Password for SASL. Password is never logged or put in an error.
	Username, Password string
	// TLS encrypts the connection (and, with a client certificate, authenticates).
	TLS secure.TLS
}

// Dialer returns a kafka-go dialer for s: for the consumer group, readers and (through
// Transport) writers and admin requests.
func (s Security) Dialer() (*kafka.Dialer, error) {
	mech, err := s.mechanism()
	if err != nil {
		return nil, err
	}
	tc, err := s.TLS.Config()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, ClientID: "livepulse", SASLMechanism: mech, TLS: tc}, nil
}

// String describes s for logs, without the password.
func (s Security) String() string {
	var parts []string
	if s.SASLMechanism != "" {
		parts = append(parts, "sasl="+s.SASLMechanism, "user="+s.Username)
	}
	if s.TLS.On() {
		parts = append(parts, "tls")
		if s.TLS.CertFile != "" {
			parts = append(parts, "client-cert="+s.TLS.CertFile)
		}
	}
	if len(parts) == 0 {
		return "plaintext"
	}
	return strings.Join(parts, " ")
}

func (s Security) mechanism() (sasl.Mechanism, error) {
	if s.SASLMechanism == "" {
		if s.Username != "" || s.Password != "" {
			return nil, fmt.Errorf("%w: Kafka credentials given without a SASL mechanism (SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN)", secure.ErrConfig)
		}
		return nil, nil
	}
	if s.Username == "" || s.Password == "" {
		return nil, fmt.Errorf("%w: SASL %s needs a username and a password", secure.ErrConfig, s.SASLMechanism)
	}
	switch strings.ToUpper(s.SASLMechanism) {
	case "SCRAM-SHA-256":
		return s.scram(scram.SHA256)
	case "SCRAM-SHA-512":
		return s.scram(scram.SHA512)
	case "PLAIN":
		return plain.Mechanism{Username: s.Username, Password: s.Password}, nil
	}
	return nil, fmt.Errorf("%w: unknown SASL mechanism %q (want SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN)", secure.ErrConfig, s.SASLMechanism)
}

func (s Security) scram(algo scram.Algorithm) (sasl.Mechanism, error) {
	m, err := scram.Mechanism(algo, s.Username, s.Password)
	if err != nil {
		// The library's error is about the username's or password's encoding, not its value.
		return nil, fmt.Errorf("%w: cannot set up SASL %s for user %s: invalid credentials encoding", secure.ErrConfig, s.SASLMechanism, s.Username)
	}
	return m, nil
}

// ErrKafkaAuth is returned (wrapped) when the brokers refuse the SASL credentials or the TLS
// handshake fails.
var ErrKafkaAuth = errors.New("cannot authenticate to Kafka")

// checkBrokers dials the first reachable broker the way every client will (TLS, then SASL), so a
// wrong password or certificate fails at start with a clear error instead of as an EOF deep in a
// metadata request. The error names the mechanism and user, never the password.
func checkBrokers(ctx context.Context, brokers []string, d *kafka.Dialer) error {
	if d.SASLMechanism == nil && d.TLS == nil {
		return nil
	}
	var errs []error
	for _, addr := range brokers {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	how := "TLS"
	if d.SASLMechanism != nil {
		how = "SASL " + d.SASLMechanism.Name()
		if d.TLS != nil {
			how += " over TLS"
		}
	}
	return fmt.Errorf("%w with %s (wrong credentials, certificate or protocol?): %w", ErrKafkaAuth, how, errors.Join(errs...))
}
