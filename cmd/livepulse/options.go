package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/metrics"
	"github.com/livepulse/livepulse/pipeline/rollup"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/store/chdb"
	"github.com/livepulse/livepulse/pipeline/window"
	"github.com/livepulse/livepulse/schemas"
)

// storeOptions selects and opens the ClickHouse backend.
type storeOptions struct {
	dataDir    string
	clickhouse string
	libchdb    string
	cluster    string
	chSecurity clickhouseSecurityOptions // security.go
	limits     queryLimitOptions         // security.go
}

func (o *storeOptions) register(fs *flag.FlagSet, defaultDataDir string) {
	fs.StringVar(&o.dataDir, "data-dir", defaultDataDir, "directory for the embedded ClickHouse (and the demo broker)")
	fs.StringVar(&o.clickhouse, "clickhouse", os.Getenv("LIVEPULSE_CLICKHOUSE"), "ClickHouse server DSN, e.g. clickhouse://host:9000/db (default: the embedded engine; env LIVEPULSE_CLICKHOUSE)")
	fs.StringVar(&o.cluster, "clickhouse-cluster", "", "ClickHouse cluster NAME: migrations create Replicated tables and Distributed ones ON CLUSTER NAME, inserts are synchronous (needs --clickhouse)")
	fs.StringVar(&o.libchdb, "libchdb", "", "path to libchdb.so (default: $LIVEPULSE_LIBCHDB, else where scripts/setup.sh installs it)")
	o.chSecurity.register(fs)
	o.limits.register(fs)
}

func (o *storeOptions) open(ctx context.Context, log *slog.Logger) (*store.Store, error) {
	if o.clickhouse != "" {
		b, err := o.chSecurity.open(ctx, o.clickhouse, log)
		if err != nil {
			return nil, err
		}
		if o.cluster == "" {
			return o.limits.apply(store.New(b, log))
		}
		b.SetInsertSettings(store.ClusterInsertSettings)
		return o.limits.apply(store.New(b, log).OnCluster(o.cluster))
	}
	if o.cluster != "" {
		return nil, errors.New("--clickhouse-cluster needs --clickhouse (the embedded engine is one node)")
	}
	lib, err := chdb.FindLibrary(o.libchdb)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(o.dataDir, "clickhouse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create data directory: %w", err)
	}
	b, err := store.OpenEmbedded(chdb.Config{LibraryPath: lib, DataDir: dir, Logger: log})
	if err != nil {
		return nil, err
	}
	return o.limits.apply(store.New(b, log))
}

// pipelineOptions are the consumer's flags.
type pipelineOptions struct {
	brokers       string
	group         string
	partitions    int
	batchRows     int
	flushInterval time.Duration
	currency      string
	futureSkew    time.Duration
	pastHorizon   time.Duration
	maxBytes      int
	topicPrefix   string
	lateness      time.Duration
	outOfOrder    time.Duration
	idleTimeout   time.Duration
	sessionTTL    time.Duration
	location      *time.Location
	tokenFile     string
	detectorsFile string
	webhooks      []string
	kafkaSecurity kafkaSecurityOptions // security.go
	dedupe        dedupeOptions        // dedupe.go
}

func (o *pipelineOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.brokers, "brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	fs.StringVar(&o.group, "group", "livepulse", "consumer group")
	o.kafkaSecurity.register(fs)
	o.dedupe.register(fs)
	fs.IntVar(&o.partitions, "partitions", 4, "partitions per topic when creating missing topics")
	fs.IntVar(&o.batchRows, "batch-rows", 50_000, "rows per partition batch (a table's INSERT takes up to 4 times as many)")
	fs.DurationVar(&o.flushInterval, "flush-interval", time.Second, "longest an event waits before its INSERT starts")
	fs.StringVar(&o.currency, "currency", "CNY", "currency of orders and refunds that name none")
	fs.DurationVar(&o.futureSkew, "max-future-skew", 5*time.Minute, "reject event times further ahead of the wall clock")
	fs.DurationVar(&o.pastHorizon, "max-event-age", 7*24*time.Hour, "reject event times older than this (negative: accept any age)")
	fs.IntVar(&o.maxBytes, "max-message-bytes", 64<<10, "reject larger messages")
	fs.StringVar(&o.topicPrefix, "topic-prefix", "livepulse.", "topics are PREFIX{viewer,order,refund,dlq}")
	fs.DurationVar(&o.lateness, "allowed-lateness", time.Minute, "events this late after their minute closed still correct it; later ones are stored flagged late")
	fs.DurationVar(&o.outOfOrder, "max-out-of-order", 5*time.Second, "bounded out-of-orderness of event time within a partition (the watermark lags by this)")
	fs.DurationVar(&o.idleTimeout, "idle-partition-timeout", 10*time.Second, "a partition without events this long stops holding the watermark back")
	fs.DurationVar(&o.sessionTTL, "session-timeout", time.Minute, "a viewer session without a heartbeat this long has left")
	fs.StringVar(&o.tokenFile, "token-file", "", "file holding the HTTP bearer token, required when --http is not a loopback address (default: env LIVEPULSE_TOKEN)")
	fs.StringVar(&o.detectorsFile, "detectors-config", "", "YAML file with detector thresholds (default: the documented defaults, detectors/defaults.yaml)")
	fs.Func("webhook", "URL to POST each flag emission to (repeatable); retried, never blocking the pipeline", func(u string) error {
		o.webhooks = append(o.webhooks, u)
		return nil
	})
	fs.Func("timezone", "time zone of \"today\" in the live figures (default Asia/Shanghai)", func(name string) error {
		loc, err := time.LoadLocation(name)
		o.location = loc
		return err
	})
}

func (o *pipelineOptions) detectorsConfig() (detectors.Config, error) {
	if o.detectorsFile == "" {
		return detectors.DefaultConfig(), nil
	}
	return detectors.LoadConfig(o.detectorsFile)
}

func (o *pipelineOptions) rollupConfig(log *slog.Logger) rollup.Config {
	return rollup.Config{
		Window:  window.Config{MaxOutOfOrder: o.outOfOrder, IdleTimeout: o.idleTimeout},
		Metrics: metrics.Config{AllowedLateness: o.lateness, SessionTimeout: o.sessionTTL},
		Logger:  log,
	}
}

func (o *pipelineOptions) config(log *slog.Logger, m *ingest.Metrics) ingest.Config {
	topics := make(map[schemas.Kind]string)
	for _, k := range schemas.Kinds {
		topics[k] = o.topicPrefix + k.String()
	}
	cfg := ingest.Config{
		Brokers:       splitList(o.brokers),
		GroupID:       o.group,
		Topics:        topics,
		DLQTopic:      o.topicPrefix + "dlq",
		OutputTopics:  []string{o.topicPrefix + "flags"},
		Partitions:    o.partitions,
		BatchRows:     o.batchRows,
		FlushInterval: o.flushInterval,
		Decoder: schemas.DecoderConfig{
			MaxBytes: o.maxBytes, FutureSkew: o.futureSkew, PastHorizon: o.pastHorizon, Currency: o.currency,
		},
		Metrics: m,
		Logger:  log,
	}
	o.dedupe.apply(&cfg)
	return cfg
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// parse parses args, printing usage on -h.
func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	return err
}
