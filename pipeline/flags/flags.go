// Package flags delivers the detectors' flags: to the ClickHouse table anomaly_flags, the Kafka
// topic livepulse.flags, live subscribers (the SSE stream) and optional webhooks.
package flags

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/livepulse/livepulse/detectors"
	"github.com/livepulse/livepulse/pipeline/store"
	"github.com/livepulse/livepulse/schemas"
)

// Row is one emission of a flag.
type Row struct {
	detectors.Flag
	Replayed  bool
	ReplayID  string // the replay run; empty for live flags
	Version   uint64
	EmittedAt int64 // Unix ms, wall clock
}

// Rows is a batch of flag emissions (implements store.Rows).
type Rows []Row

func (r Rows) Table() *schemas.Table     { return schemas.AnomalyFlags }
func (r Rows) Len() int                  { return len(r) }
func (r Rows) Source(i int) store.Source { return store.Source{Offset: -1} }

func (r Rows) AppendRowBinary(b []byte, _ int64) []byte {
	le := binary.LittleEndian
	str := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	for i := range r {
		f := &r[i]
		ev, _ := json.Marshal(f.Evidence)
		b = str(b, f.FlagID)
		b = str(b, f.Kind)
		b = str(b, f.StreamID)
		b = str(b, f.KOLID)
		b = str(b, f.BrandID)
		b = str(b, f.Platform)
		b = str(b, string(f.Severity))
		b = le.AppendUint64(b, math.Float64bits(f.Score))
		b = le.AppendUint64(b, uint64(f.WindowStart))
		b = le.AppendUint64(b, uint64(f.WindowEnd))
		b = le.AppendUint64(b, uint64(f.DetectedAt))
		b = str(b, f.State)
		b = str(b, f.Evidence.Summary)
		b = str(b, string(ev))
		b = append(b, boolByte(f.Replayed))
		b = str(b, f.ReplayID)
		b = le.AppendUint64(b, f.Version)
		b = le.AppendUint64(b, uint64(f.EmittedAt))
	}
	return b
}

func (r Rows) Values(i int, _ time.Time) []any {
	f := &r[i]
	ev, _ := json.Marshal(f.Evidence)
	ms := func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	return []any{f.FlagID, f.Kind, f.StreamID, f.KOLID, f.BrandID, f.Platform, string(f.Severity), f.Score,
		ms(f.WindowStart), ms(f.WindowEnd), ms(f.DetectedAt), f.State, f.Evidence.Summary, string(ev),
		boolByte(f.Replayed), f.ReplayID, f.Version, ms(f.EmittedAt)}
}

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// Config configures a Publisher. The zero value stores flags and serves subscribers only.
type Config struct {
	// Brokers, if set, receive each flag emission on Topic (key = stream_id, value = JSON).
	Brokers []string
	// Topic for flags. Default "livepulse.flags".
	Topic string
	// Webhooks receive each flag emission as a JSON POST, retried with backoff; a full queue
	// drops the oldest delivery (counted) rather than block the pipeline.
	Webhooks []string
	// WebhookQueue bounds pending webhook deliveries. Default 1000.
	WebhookQueue int
	// Dialer for Kafka (TLS, SASL); nil means kafka-go's default.
	Dialer *kafka.Dialer
	// Logger; nil means silent.
	Logger *slog.Logger
}

// Publisher delivers flag emissions. Safe for concurrent use.
type Publisher struct {
	cfg     Config
	st      *store.Store
	kafka   *kafka.Writer
	Hub     *Hub
	hooks   chan []byte
	dropped uint64
	mu      sync.Mutex
	version uint64
	done    chan struct{}
	wg      sync.WaitGroup
}

// NewPublisher returns a publisher writing to st.
func NewPublisher(cfg Config, st *store.Store) *Publisher {
	if cfg.Topic == "" {
		cfg.Topic = "livepulse.flags"
	}
	if cfg.WebhookQueue <= 0 {
		cfg.WebhookQueue = 1000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{cfg: cfg, st: st, Hub: NewHub(), hooks: make(chan []byte, cfg.WebhookQueue), done: make(chan struct{})}
	if len(cfg.Brokers) > 0 {
		p.kafka = &kafka.Writer{Addr: kafka.TCP(cfg.Brokers...), Topic: cfg.Topic, Balancer: &kafka.Murmur2Balancer{},
			RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, AllowAutoTopicCreation: true}
		if cfg.Dialer != nil {
			p.kafka.Transport = &kafka.Transport{TLS: cfg.Dialer.TLS, SASL: cfg.Dialer.SASLMechanism}
		}
	}
	for _, url := range cfg.Webhooks {
		p.wg.Add(1)
		go p.deliver(url)
	}
	return p
}

// Publish stores flags in ClickHouse (the record: an error is returned and the caller retries),
// then writes them to Kafka, subscribers and webhooks (best effort, logged). replayID names the
// replay run that raised them ("" for live flags); replayed flags are only stored, never sent.
func (p *Publisher) Publish(ctx context.Context, fs []detectors.Flag, replayID string) error {
	if len(fs) == 0 {
		return nil
	}
	now := time.Now()
	rows := make(Rows, len(fs))
	p.mu.Lock()
	p.version = max(p.version+1, uint64(now.UnixMicro()))
	v := p.version
	p.mu.Unlock()
	for i, f := range fs {
		if replayID != "" {
			// anomaly_flags keeps one row per flag_id: a replay's must not replace the live one.
			f.FlagID += "@" + replayID
		}
		rows[i] = Row{Flag: f, Replayed: replayID != "", ReplayID: replayID, Version: v, EmittedAt: now.UnixMilli()}
	}
	if err := p.st.Insert(ctx, now, rows); err != nil {
		return fmt.Errorf("cannot store %d flags: %w", len(fs), err)
	}
	if replayID != "" {
		return nil // a replay must not page anyone: its flags are for comparison, in the store
	}
	msgs := make([]kafka.Message, len(rows))
	for i := range rows {
		body, _ := json.Marshal(rows[i].Public())
		msgs[i] = kafka.Message{Key: []byte(rows[i].StreamID), Value: body}
		p.Hub.Broadcast(body)
		for range p.cfg.Webhooks {
			p.enqueue(body)
		}
	}
	if p.kafka != nil {
		kctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := p.kafka.WriteMessages(kctx, msgs...); err != nil {
			p.cfg.Logger.Warn("cannot write flags to Kafka; they are stored in anomaly_flags", "topic", p.cfg.Topic, "err", err)
		}
	}
	return nil
}

// Public is the JSON shape of a flag emission (API, Kafka, webhooks, SSE).
func (r Row) Public() map[string]any {
	iso := func(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }
	return map[string]any{
		"flag_id": r.FlagID, "kind": r.Kind, "stream_id": r.StreamID, "kol_id": r.KOLID, "brand_id": r.BrandID,
		"platform": r.Platform, "severity": r.Severity, "score": r.Score, "window_start": iso(r.WindowStart),
		"window_end": iso(r.WindowEnd), "detected_at": iso(r.DetectedAt), "state": r.State, "evidence": r.Evidence,
		"replayed": r.Replayed,
	}
}

func (p *Publisher) enqueue(body []byte) {
	for {
		select {
		case p.hooks <- body:
			return
		default:
		}
		select { // full: drop the oldest, never block the pipeline
		case <-p.hooks:
			p.mu.Lock()
			p.dropped++
			p.mu.Unlock()
		default:
		}
	}
}

// deliver posts queued flags to url, retrying each up to 5 times with backoff.
func (p *Publisher) deliver(url string) {
	defer p.wg.Done()
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		var body []byte
		select {
		case <-p.done:
			return
		case body = <-p.hooks:
		}
		backoff := 500 * time.Millisecond
		for attempt := 1; attempt <= 5; attempt++ {
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode < 300 {
					break
				}
				err = fmt.Errorf("status %s", resp.Status)
			}
			p.cfg.Logger.Warn("webhook delivery failed", "attempt", attempt, "err", err)
			select {
			case <-p.done:
				return
			case <-time.After(backoff):
			}
			backoff *= 2
		}
	}
}

// Close stops webhook delivery and the Kafka writer.
func (p *Publisher) Close() error {
	close(p.done)
	p.wg.Wait()
	if p.kafka != nil {
		return p.kafka.Close()
	}
	return nil
}
