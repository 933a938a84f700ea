package simulate

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/livepulse/livepulse/schemas"
)

const (
	ttyRedraw     = 250 * time.Millisecond
	progressEvery = 5 * time.Second
)

// progress reports a producer's acknowledged messages on a writer until stopped.
type progress struct {
	done    chan struct{}
	stopped chan struct{}
}

// startProgress starts reporting to w; a nil w reports nothing.
func startProgress(w io.Writer, p *producer, loc *time.Location) *progress {
	pr := &progress{done: make(chan struct{}), stopped: make(chan struct{})}
	if w == nil {
		close(pr.stopped)
		return pr
	}
	tty := isTerminal(w)
	every := progressEvery
	if tty {
		every = ttyRedraw
	}
	go func() {
		defer close(pr.stopped)
		tick := time.NewTicker(every)
		defer tick.Stop()
		began := time.Now()
		last, lastAt := int64(0), began
		for {
			var final bool
			select {
			case <-tick.C:
			case <-pr.done:
				final = true
			}
			s, ts := p.snapshot()
			now := time.Now()
			rate := float64(s.Messages-last) / now.Sub(lastAt).Seconds()
			if final {
				rate = float64(s.Messages) / now.Sub(began).Seconds()
			}
			last, lastAt = s.Messages, now
			line := fmt.Sprintf("simulate: %d acked (%d viewer, %d order, %d refund, %d bad), %.0f msg/s, event time %s",
				s.Messages, s.Good[schemas.KindViewer], s.Good[schemas.KindOrder], s.Good[schemas.KindRefund], s.BadTotal(), rate, eventTime(ts, loc))
			switch {
			case tty:
				fmt.Fprintf(w, "\r%s\x1b[K", line)
				if final {
					fmt.Fprintln(w)
				}
			default:
				fmt.Fprintln(w, line)
			}
			if final {
				return
			}
		}
	}()
	return pr
}

// stop prints the final line and waits for the reporter to exit.
func (pr *progress) stop() {
	select {
	case <-pr.stopped:
	default:
		close(pr.done)
		<-pr.stopped
	}
}

func eventTime(ms int64, loc *time.Location) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).In(loc).Format("2006-01-02 15:04:05 -07:00")
}

// isTerminal reports whether w is a character device (a terminal), without a dependency on x/term.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
