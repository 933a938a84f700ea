package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/livepulse/livepulse/dashboards/api"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/pipeline/store/chdb"
	"github.com/livepulse/livepulse/pipeline/store/chhttp"
)

// runStore serves the embedded ClickHouse over ClickHouse's HTTP interface, so that several
// `livepulse run --clickhouse http://…` instances share one store.
func runStore(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("store", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8123", "HTTP listen address (ClickHouse's HTTP interface)")
	dataDir := fs.String("data-dir", "livepulse-data", "directory of the embedded ClickHouse (DIR/clickhouse)")
	libchdb := fs.String("libchdb", "", "path to libchdb.so (default: $LIVEPULSE_LIBCHDB, else where scripts/setup.sh installs it)")
	conns := fs.Int("conns", 8, "engine connections: statements that run at once")
	writerFile := fs.String("password-file", "", "file with the password of user "+storeWriter+" (may write; default env LIVEPULSE_STORE_PASSWORD); required beyond loopback")
	readerFile := fs.String("reader-password-file", "", "file with the password of the read-only user "+storeReader+" (default env LIVEPULSE_STORE_READER_PASSWORD; unset: no such user)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	var limits queryLimitOptions // the reader's and GET requests' queries, as at /api/query
	limits.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	log := newLogger(*logLevel)
	users, err := storeUsers(*writerFile, *readerFile)
	if err != nil {
		return err
	}
	if !api.IsLoopback(*listen) && users[storeWriter].Password == "" {
		return errors.New("listening beyond 127.0.0.1 needs credentials: set LIVEPULSE_STORE_PASSWORD or --password-file")
	}
	lib, err := chdb.FindLibrary(*libchdb)
	if err != nil {
		return err
	}
	b, err := store.OpenEmbedded(chdb.Config{LibraryPath: lib, DataDir: filepath.Join(*dataDir, "clickhouse"), Conns: *conns, Logger: log})
	if err != nil {
		return err
	}
	st, err := limits.apply(store.New(b, log))
	if err != nil {
		return err
	}
	defer st.Close()
	// The store owns the schema: instances that start together then find it migrated.
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", *listen, err)
	}
	cfg := chhttp.Config{Store: b, ReadOnlyQuery: st.QueryReadOnly, Logger: log}
	if users[storeWriter].Password != "" {
		cfg.Users = users
		names := make([]string, 0, len(users))
		for n := range users {
			names = append(names, n)
		}
		log.Warn("every request needs credentials (basic auth, X-ClickHouse-User/Key or user/password parameters)", "users", strings.Join(names, ","))
	}
	srv := &http.Server{Handler: chhttp.Handler(cfg), ReadHeaderTimeout: 10 * time.Second}
	log.Info("store listening: ClickHouse HTTP interface over the embedded engine", "addr", "http://"+ln.Addr().String(), "data", *dataDir, "engine", b.Name())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

const (
	storeWriter = "livepulse"
	storeReader = "reader"
)

// storeUsers loads the writer's and the reader's passwords (file, else environment).
func storeUsers(writerFile, readerFile string) (map[string]chhttp.User, error) {
	read := func(file, env string) (string, error) {
		if file == "" {
			return strings.TrimSpace(os.Getenv(env)), nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("cannot read password file: %w", err)
		}
		if p := strings.TrimSpace(string(b)); p != "" {
			return p, nil
		}
		return "", fmt.Errorf("password file %s is empty", file)
	}
	w, err := read(writerFile, "LIVEPULSE_STORE_PASSWORD")
	if err != nil {
		return nil, err
	}
	r, err := read(readerFile, "LIVEPULSE_STORE_READER_PASSWORD")
	if err != nil {
		return nil, err
	}
	users := map[string]chhttp.User{storeWriter: {Password: w}}
	if r != "" {
		if w == "" {
			return nil, errors.New("a reader password needs a writer password too (LIVEPULSE_STORE_PASSWORD)")
		}
		users[storeReader] = chhttp.User{Password: r, ReadOnly: true}
	}
	return users, nil
}
