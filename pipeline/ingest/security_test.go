package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/secure"
	"github.com/livepulse/livepulse/pipeline/testenv"
)

// sentinelPassword must never appear in a log line, an error or /metrics.
const sentinelPassword = "s3ntinel-PASSWORD-7f3a"

// TestKafkaSCRAMOverTLS runs the real kafka-go SASL/SCRAM and TLS paths against a broker that
// requires them (kfake with SASL and TLS): the right password consumes and stores events, a
// wrong one fails with an authentication error, and no log line, error or metric holds the
// password.
func TestKafkaSCRAMOverTLS(t *testing.T) {
	addr, caFile := testenv.SecureBroker(t, 2, map[string]string{
		"SCRAM-SHA-512:lp512": sentinelPassword, "SCRAM-SHA-256:lp256": sentinelPassword})

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	metrics := ingest.NewMetrics(reg)

	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
		user := "lp" + strings.TrimPrefix(mech, "SCRAM-SHA-")
		wrong := ingest.Security{SASLMechanism: mech, Username: user, Password: sentinelPassword + "-wrong", TLS: secure.TLS{CAFile: caFile}}
		d, err := wrong.Dialer()
		if err != nil {
			t.Fatal(err)
		}
		err = ingest.EnsureTopics(context.Background(), ingest.Config{Brokers: []string{addr}, Dialer: d, Logger: log})
		if err == nil {
			t.Fatalf("%s with a wrong password: connected", mech)
		}
		if !errors.Is(err, ingest.ErrKafkaAuth) || !strings.Contains(err.Error(), mech) {
			t.Errorf("%s with a wrong password: %v, want an error that says authentication failed", mech, err)
		}
		if strings.Contains(err.Error(), sentinelPassword) {
			t.Errorf("the error holds the password: %v", err)
		}
		t.Logf("%s, wrong password: %v", mech, err)
	}
	noTLS := ingest.Security{SASLMechanism: "SCRAM-SHA-512", Username: "lp512", Password: sentinelPassword}
	if d, _ := noTLS.Dialer(); !errors.Is(ingest.EnsureTopics(context.Background(), ingest.Config{Brokers: []string{addr}, Dialer: d}), ingest.ErrKafkaAuth) {
		t.Error("plaintext connected to a TLS listener")
	}
	untrusted := ingest.Security{SASLMechanism: "SCRAM-SHA-512", Username: "lp512", Password: sentinelPassword, TLS: secure.TLS{Enabled: true}}
	if d, _ := untrusted.Dialer(); !errors.Is(ingest.EnsureTopics(context.Background(), ingest.Config{Brokers: []string{addr}, Dialer: d}), ingest.ErrKafkaAuth) {
		t.Error("TLS accepted a certificate signed by an unknown CA")
	}

	sec := ingest.Security{SASLMechanism: "SCRAM-SHA-512", Username: "lp512", Password: sentinelPassword, TLS: secure.TLS{CAFile: caFile}}
	d, err := sec.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.Config{Brokers: []string{addr}, GroupID: "scram", Partitions: 2, BatchRows: 100, FlushInterval: 100 * time.Millisecond,
		Dialer: d, Logger: log, Metrics: metrics}
	if err := ingest.EnsureTopics(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	msgs, _ := corpus(300, time.Now())
	w := &kafka.Writer{Addr: kafka.TCP(addr), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
		Transport: &kafka.Transport{SASL: d.SASLMechanism, TLS: d.TLS}}
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafka.Message{Topic: m.kind.DefaultTopic(), Key: []byte(m.key), Value: m.value}
	}
	if err := w.WriteMessages(context.Background(), out...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	st := testenv.Store(t)
	stop := runConsumer(t, cfg, st)
	waitFor(t, "every message stored over SCRAM and TLS", 60*time.Second, func() bool {
		return queryInt(t, st, "SELECT (SELECT count() FROM viewer_events) + (SELECT count() FROM orders) + (SELECT count() FROM refunds) + (SELECT count() FROM dead_letters)") == int64(len(msgs))
	})
	stop()

	if strings.Contains(logs.String(), sentinelPassword) {
		t.Error("a log line holds the password")
	}
	if strings.Contains(sec.String(), sentinelPassword) {
		t.Errorf("Security.String holds the password: %s", sec)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(metrics.Commits); n == 0 {
		t.Error("no offset commits over SCRAM")
	}
	for _, f := range families {
		if strings.Contains(f.String(), sentinelPassword) {
			t.Errorf("metric %s holds the password", f.GetName())
		}
	}
}

func TestSecurityConfigErrors(t *testing.T) {
	f := func(s ingest.Security, want string) {
		t.Helper()
		_, err := s.Dialer()
		if !errors.Is(err, secure.ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want secure.ErrConfig containing %q", s.SASLMechanism, err, want)
		}
		if err != nil && strings.Contains(err.Error(), sentinelPassword) {
			t.Errorf("the error holds the password: %v", err)
		}
	}
	f(ingest.Security{SASLMechanism: "SCRAM-SHA-1", Username: "u", Password: sentinelPassword}, "unknown SASL mechanism")
	f(ingest.Security{SASLMechanism: "SCRAM-SHA-256", Username: "u"}, "needs a username and a password")
	f(ingest.Security{Username: "u", Password: sentinelPassword}, "without a SASL mechanism")
	f(ingest.Security{TLS: secure.TLS{CAFile: filepath.Join(t.TempDir(), "missing.pem")}}, "cannot read CA file")
	f(ingest.Security{TLS: secure.TLS{CertFile: "c.pem"}}, "both a certificate and a key")
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not pem"), 0o600)
	f(ingest.Security{TLS: secure.TLS{CAFile: bad}}, "no PEM certificate")
}
