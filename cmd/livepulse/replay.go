package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/flags"
	"github.com/livepulse/livepulse/pipeline/replay"
)

// runReplay re-runs the detectors over stored events and stores the flags as a replay run.
func runReplay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var so storeOptions
	so.register(fs, "livepulse-data")
	from := fs.String("from", "", "start of the event time replayed, RFC 3339 (required)")
	to := fs.String("to", "", "end of the event time replayed, RFC 3339 (required)")
	warmup := fs.Duration("warmup", time.Hour, "event time before --from observed to build windows and baselines, not flagged")
	id := fs.String("id", "", "name of the run, anomaly_flags.replay_id (default replay-<UTC time>)")
	detectorsFile := fs.String("detectors-config", "", "YAML file with the thresholds to replay (default: the documented defaults)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var cfg replay.Config
	var err error
	if cfg.From, err = time.Parse(time.RFC3339, *from); err != nil {
		return fmt.Errorf("bad --from (RFC 3339, e.g. 2026-11-11T00:00:00+08:00): %w", err)
	}
	if cfg.To, err = time.Parse(time.RFC3339, *to); err != nil {
		return fmt.Errorf("bad --to (RFC 3339): %w", err)
	}
	cfg.Warmup, cfg.ID = *warmup, *id
	if cfg.ID == "" {
		cfg.ID = "replay-" + time.Now().UTC().Format("20060102T150405Z")
	}
	var yaml []byte
	cfg.Detectors = detectors.DefaultConfig()
	if *detectorsFile != "" {
		if yaml, err = os.ReadFile(*detectorsFile); err != nil {
			return fmt.Errorf("cannot read detectors config: %w", err)
		}
		if cfg.Detectors, err = detectors.ParseConfig(yaml); err != nil {
			return fmt.Errorf("%s: %w", *detectorsFile, err)
		}
	}
	var rep replay.Report
	// The embedded engine admits one process per data directory: ask the instance holding it.
	if so.clickhouse == "" {
		if addr, err := os.ReadFile(filepath.Join(so.dataDir, "livepulse.http")); err == nil {
			rep, err = replayInstance(ctx, string(addr), cfg, yaml)
			if err == nil {
				return printReplay(rep)
			}
			if !errors.Is(err, errUnreachable) {
				return err
			}
		}
	}
	log := newLogger("warn")
	st, err := so.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	pub := flags.NewPublisher(flags.Config{Logger: log}, st) // store only: a replay pages nobody
	defer pub.Close()
	if rep, err = replay.Run(ctx, st, pub, cfg); err != nil {
		return err
	}
	return printReplay(rep)
}

func printReplay(rep replay.Report) error {
	fmt.Printf("replay %s: %d events of %d partitions, %d flags (%d emissions), %d late\n",
		rep.ID, rep.Events, rep.Partitions, rep.Flags, rep.Emissions, rep.Late)
	fmt.Printf("see them: livepulse query \"SELECT kind, stream_id, severity, score, window_start, window_end, summary FROM anomaly_flags FINAL WHERE replay_id = '%s'\"\n", rep.ID)
	fmt.Printf("      or: GET /api/flags?replay=%s\n", url.QueryEscape(rep.ID))
	return nil
}

// replayInstance asks the running instance at addr to replay (POST /api/replay).
func replayInstance(ctx context.Context, addr string, cfg replay.Config, yaml []byte) (replay.Report, error) {
	q := url.Values{"from": {cfg.From.Format(time.RFC3339)}, "to": {cfg.To.Format(time.RFC3339)},
		"warmup": {cfg.Warmup.String()}, "id": {cfg.ID}}
	u := "http://" + strings.TrimSpace(addr) + "/api/replay?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(yaml))
	if err != nil {
		return replay.Report{}, err
	}
	resp, err := doInstance(req)
	if err != nil {
		return replay.Report{}, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return replay.Report{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return replay.Report{}, fmt.Errorf("the running instance refused the replay: %s", strings.TrimSpace(string(body)))
	}
	var rep replay.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		return replay.Report{}, fmt.Errorf("cannot parse the replay report: %w", err)
	}
	return rep, nil
}
