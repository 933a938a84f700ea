package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/livepulse/livepulse/dashboards/api"
	"github.com/livepulse/livepulse/dashboards/web"
	"github.com/livepulse/livepulse/pipeline/flags"
	"github.com/livepulse/livepulse/pipeline/ingest"
	"github.com/livepulse/livepulse/pipeline/rollup"
	"github.com/livepulse/livepulse/pipeline/store"
)

func runPipeline(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var so storeOptions
	var po pipelineOptions
	so.register(fs, "livepulse-data")
	po.register(fs)
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP listen address")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	log := newLogger(*logLevel)
	p, err := startPipeline(ctx, log, so, po, *httpAddr)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("stopping: flushing open batches and committing")
		return p.stop()
	case err := <-p.runErr:
		// The consumer gave up on its own (wrong credentials, topics with unequal partition
		// counts, foreign data): say why and exit rather than serve without consuming.
		p.runErr <- nil // for stop
		if err == nil {
			err = errors.New("it returned without an error")
		}
		return errors.Join(fmt.Errorf("consumer stopped: %w", err), p.stop())
	}
}

// pipeline is the running components of `livepulse run`, started in order and stopped in reverse.
type pipeline struct {
	log      *slog.Logger
	store    *store.Store
	httpSrv  *http.Server
	httpAddr string
	httpDone chan struct{} // closed at stop: ends the open SSE streams
	addrFile string
	consumer *ingest.Consumer
	rollup   *rollup.Processor
	flags    *flags.Publisher
	runErr   chan error
	cancel   context.CancelFunc
}

func startPipeline(ctx context.Context, log *slog.Logger, so storeOptions, po pipelineOptions, httpAddr string) (*pipeline, error) {
	p := &pipeline{log: log, runErr: make(chan error, 1), httpDone: make(chan struct{})}
	st, err := so.open(ctx, log)
	if err != nil {
		return nil, err
	}
	p.store = st
	log.Info("store open", "backend", st.Backend().Name())
	from, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	log.Info("schema ready", "version", store.SchemaVersion(), "was", from)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := ingest.NewMetrics(reg)
	detCfg, err := po.detectorsConfig()
	if err != nil {
		st.Close()
		return nil, err
	}
	dialer, err := po.kafkaSecurity.dialer(log)
	if err != nil {
		st.Close()
		return nil, err
	}
	p.flags = flags.NewPublisher(flags.Config{Brokers: splitList(po.brokers), Topic: po.topicPrefix + "flags", Webhooks: po.webhooks, Logger: log, Dialer: dialer}, st)
	rc := po.rollupConfig(log)
	rc.Detectors, rc.Flags = &detCfg, p.flags
	p.rollup = rollup.New(rc, st)
	cfg := po.config(log, metrics)
	cfg.Processor, cfg.Dialer = p.rollup, dialer
	consumer, err := ingest.New(cfg, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	p.consumer = consumer

	ln, err := net.Listen("tcp", httpAddr)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("cannot listen on %s: %w", httpAddr, err)
	}
	p.httpAddr = ln.Addr().String()
	handler := api.Handler(api.Config{Store: st, Ready: consumer.Joined, Gatherer: reg, Logger: log, Location: po.location, Flags: p.flags.Hub, Done: p.httpDone,
		Board: web.Handler(), QueryTimeout: st.QueryLimits().Timeout + 5*time.Second}) // ClickHouse's limit fires first, with its message
	if !api.IsLoopback(p.httpAddr) {
		// Beyond loopback, everything but /healthz needs the bearer token.
		token, err := api.LoadToken(po.tokenFile)
		if err == nil && token == "" {
			err = api.ErrTokenRequired
		}
		if err != nil {
			ln.Close()
			st.Close()
			return nil, err
		}
		handler = api.RequireToken(token, handler)
		log.Warn("http listens beyond loopback: every endpoint but /healthz requires the bearer token", "addr", p.httpAddr)
	}
	p.httpSrv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := p.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	log.Info("http listening", "addr", "http://"+p.httpAddr)
	if so.clickhouse == "" {
		// `livepulse query` finds a running instance here: the embedded engine admits one process.
		p.addrFile = filepath.Join(so.dataDir, "livepulse.http")
		if err := os.WriteFile(p.addrFile, []byte(p.httpAddr), 0o644); err != nil {
			log.Warn("cannot record the http address", "err", err)
		}
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	go func() { p.runErr <- consumer.Run(runCtx) }()
	go p.rollup.Run(runCtx)
	return p, nil
}

// stop stops the components in reverse order: the consumer flushes and commits, then HTTP, then
// the store.
func (p *pipeline) stop() error {
	p.consumer.Stop()
	var err error
	select {
	case err = <-p.runErr:
	case <-time.After(2 * time.Minute):
		err = errors.New("the consumer did not stop within 2 minutes; uncommitted rows will be re-read")
		p.cancel()
		<-p.runErr
	}
	p.cancel()
	// Write the minutes the last events closed; open ones are rebuilt by the next owner.
	emitCtx, emitDone := context.WithTimeout(context.Background(), 30*time.Second)
	err = errors.Join(err, p.rollup.Emit(emitCtx))
	emitDone()
	if p.addrFile != "" {
		os.Remove(p.addrFile)
	}
	close(p.httpDone)
	shutCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	p.httpSrv.Shutdown(shutCtx)
	return errors.Join(err, p.flags.Close(), p.store.Close())
}
