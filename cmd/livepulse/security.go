package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/secure"
	"github.com/livepulse/livepulse/pipeline/store"
)

// Passwords come from a file or the environment, never from a flag: the process list shows
// every process's arguments to every user.

// kafkaSecurityOptions are the Kafka SASL and TLS flags.
type kafkaSecurityOptions struct {
	mechanism, user, passwordFile string
	tls                           secure.TLS
}

func (o *kafkaSecurityOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.mechanism, "kafka-sasl", os.Getenv("LIVEPULSE_KAFKA_SASL"), "Kafka SASL mechanism: SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN (default none; env LIVEPULSE_KAFKA_SASL)")
	fs.StringVar(&o.user, "kafka-user", os.Getenv("LIVEPULSE_KAFKA_USER"), "Kafka SASL username (env LIVEPULSE_KAFKA_USER)")
	fs.StringVar(&o.passwordFile, "kafka-password-file", "", "file holding the Kafka SASL password (default: env LIVEPULSE_KAFKA_PASSWORD)")
	registerTLS(fs, &o.tls, "kafka", "Kafka brokers")
}

func (o *kafkaSecurityOptions) security() (ingest.Security, error) {
	pass, err := secure.Secret("LIVEPULSE_KAFKA_PASSWORD", o.passwordFile)
	if err != nil {
		return ingest.Security{}, err
	}
	return ingest.Security{SASLMechanism: o.mechanism, Username: o.user, Password: pass, TLS: o.tls}, nil
}

// dialer builds the Kafka dialer and says at start-up how livepulse connects (never the password).
func (o *kafkaSecurityOptions) dialer(log *slog.Logger) (*kafka.Dialer, error) {
	sec, err := o.security()
	if err != nil {
		return nil, err
	}
	d, err := sec.Dialer()
	if err != nil {
		return nil, err
	}
	log.Info("kafka connection", "security", sec.String())
	return d, nil
}

// clickhouseSecurityOptions are the ClickHouse-server credential and TLS flags.
type clickhouseSecurityOptions struct {
	user, passwordFile string
	tls                secure.TLS
}

func (o *clickhouseSecurityOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.user, "clickhouse-user", os.Getenv("LIVEPULSE_CLICKHOUSE_USER"), "ClickHouse server user, replacing the DSN's (env LIVEPULSE_CLICKHOUSE_USER)")
	fs.StringVar(&o.passwordFile, "clickhouse-password-file", "", "file holding the ClickHouse password, replacing the DSN's (default: env LIVEPULSE_CLICKHOUSE_PASSWORD)")
	registerTLS(fs, &o.tls, "clickhouse", "the ClickHouse server (its secure native port: 9440 by default)")
}

func (o *clickhouseSecurityOptions) open(ctx context.Context, dsn string, log *slog.Logger) (*store.Server, error) {
	pass, err := secure.Secret("LIVEPULSE_CLICKHOUSE_PASSWORD", o.passwordFile)
	if err != nil {
		return nil, err
	}
	b, err := store.OpenServerSecure(ctx, dsn, store.ServerSecurity{Username: o.user, Password: pass, TLS: o.tls})
	if err != nil {
		return nil, err
	}
	log.Info("clickhouse connection", "tls", o.tls.On(), "client_cert", o.tls.CertFile, "user_from_flag", o.user != "", "password_from", secretSource("LIVEPULSE_CLICKHOUSE_PASSWORD", o.passwordFile, pass))
	return b, nil
}

// secretSource says where a secret came from, for the start-up log.
func secretSource(env, file, secret string) string {
	switch {
	case file != "":
		return "file " + file
	case secret != "":
		return "env " + env
	}
	return "none (DSN or empty)"
}

func registerTLS(fs *flag.FlagSet, t *secure.TLS, prefix, what string) {
	fs.BoolVar(&t.Enabled, prefix+"-tls", false, "connect to "+what+" over TLS (implied by the other -"+prefix+"-tls-* flags)")
	fs.StringVar(&t.CAFile, prefix+"-tls-ca-file", "", "PEM CA bundle that signs the server certificates (default: the system's)")
	fs.StringVar(&t.CertFile, prefix+"-tls-cert-file", "", "PEM client certificate (mutual TLS)")
	fs.StringVar(&t.KeyFile, prefix+"-tls-key-file", "", "PEM key of the client certificate")
	fs.StringVar(&t.ServerName, prefix+"-tls-server-name", "", "name expected in the server certificate (default: the host dialled)")
}

// queryLimitOptions bound users' read-only SQL (POST /api/query, `livepulse query`).
type queryLimitOptions struct{ limits store.QueryLimits }

func (o *queryLimitOptions) register(fs *flag.FlagSet) {
	fs.DurationVar(&o.limits.Timeout, "query-timeout", 30*time.Second, "longest a user's SQL query may run (ClickHouse max_execution_time, whole seconds)")
	fs.IntVar(&o.limits.MaxRows, "query-max-rows", 100_000, "most rows a user's SQL query may return; more is an error, not a truncation")
	fs.IntVar(&o.limits.MaxBytes, "query-max-bytes", 64<<20, "most bytes (uncompressed) a user's SQL query may return; more is an error")
}

// apply sets the limits on st.
func (o *queryLimitOptions) apply(st *store.Store) (*store.Store, error) {
	if err := st.SetQueryLimits(o.limits); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}
