package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"
)

// kcatResult is the kcat phase's measurement.
type kcatResult struct {
	messages int64
	seconds  float64
	cpu      float64 // user + system seconds of the kcat processes
}

// readWithKcat reads every topic from the beginning to its end with Debian's kcat (librdkafka),
// one process per topic at once as the pipeline reads them, printing only each message's offset,
// and counts the messages: the ceiling of the read path on this machine.
func readWithKcat(ctx context.Context, kcat, addr string, ends map[string][]int64) (kcatResult, error) {
	var res kcatResult
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	began := time.Now()
	for topic := range ends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, kcat, "-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q", "-f", `%o\n`)
			cmd.Stdout, cmd.Stderr = &out, &stderr
			err := cmd.Run()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("kcat %s: %w: %s", topic, err, bytes.TrimSpace(stderr.Bytes())))
				return
			}
			res.messages += int64(bytes.Count(out.Bytes(), []byte{'\n'}))
			res.cpu += (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		}()
	}
	wg.Wait()
	res.seconds = time.Since(began).Seconds()
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("cannot read with kcat: %w", err)
	}
	var want int64
	for _, e := range ends {
		for _, n := range e {
			want += n
		}
	}
	if res.messages != want {
		return res, fmt.Errorf("kcat read %d messages, %d were produced", res.messages, want)
	}
	return res, nil
}
