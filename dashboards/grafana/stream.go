package grafana

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// The live ticker reaches Grafana through Grafana Live: a `live` query's frame names the channel
// ds/<uid>/live, Grafana's frontend subscribes to it, and Grafana runs RunStream once per channel
// (however many panels watch it), which relays livepulse's /api/live/stream: a fresh row every
// second, appended to the panels' frames.

// LivePath is the one stream path: the ticker.
const LivePath = "live"

func (d *Datasource) liveChannel() string { return "ds/" + d.uid + "/" + LivePath }

// SubscribeStream admits subscriptions to the ticker; every other path does not exist.
func (d *Datasource) SubscribeStream(_ context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	if req.Path != LivePath {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK}, nil
}

// PublishStream refuses every publication: the ticker is livepulse's to write, not its viewers'.
func (d *Datasource) PublishStream(_ context.Context, req *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	if req.Path != LivePath {
		return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusNotFound}, nil
	}
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}

// RunStream relays /api/live/stream until Grafana cancels ctx (the last subscriber left),
// reconnecting after reconnectDelay whenever the connection drops or cannot be made.
func (d *Datasource) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	if req.Path != LivePath {
		return fmt.Errorf("%w: no stream %q (only %q)", ErrBadQuery, req.Path, LivePath)
	}
	for {
		err := d.relayLive(ctx, sender)
		if ctx.Err() != nil {
			return nil
		}
		backend.Logger.Warn("livepulse live stream interrupted; reconnecting", "err", err, "delay", d.reconnectDelay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d.reconnectDelay):
		}
	}
}

// relayLive holds one /api/live/stream connection, sending a frame per "live" event. An "error"
// event (the store did not answer this second) sends nothing: the panels keep the last figures.
func (d *Datasource) relayLive(ctx context.Context, sender *backend.StreamSender) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := d.client.newRequest(ctx, http.MethodGet, "/api/live/stream", nil, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	// The watchdog runs from the request on: a server that never answers is dropped as well.
	idle := time.AfterFunc(d.streamIdle, cancel)
	defer idle.Stop()
	resp, err := d.client.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach livepulse at %s: %w", d.client.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return statusError(resp.StatusCode, body)
	}
	return readEvents(resp.Body, func() { idle.Reset(d.streamIdle) }, func(event string, payload []byte) error {
		if event != "live" {
			return nil
		}
		var rep liveReport
		if err := json.Unmarshal(payload, &rep); err != nil {
			return fmt.Errorf("cannot decode a live event: %w", err)
		}
		return sender.SendFrame(tickerFrame(&rep, d.now()), data.IncludeAll)
	})
}

// errStreamEnded is returned when the server closes the event stream.
var errStreamEnded = errors.New("livepulse closed the live stream")

// readEvents parses Server-Sent Events from r, calling onLine for every line (the idle watchdog)
// and onEvent for each complete event. Comments (": heartbeat") and "retry:" carry no event.
func readEvents(r io.Reader, onLine func(), onEvent func(event string, payload []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // a live report with its top lists is tens of KB
	var event string
	var payload []byte
	for sc.Scan() {
		onLine()
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			if payload != nil {
				if event == "" {
					event = "message"
				}
				if err := onEvent(event, payload); err != nil {
					return err
				}
			}
			event, payload = "", nil
		case line[0] == ':':
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			v := bytes.TrimPrefix(line[len("data:"):], []byte(" "))
			if payload != nil {
				payload = append(payload, '\n')
			}
			payload = append(payload, v...)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot read the live stream: %w", err)
	}
	return errStreamEnded
}
