package bench

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"
)

// cpuSeconds returns this process's user + system CPU time so far (getrusage RUSAGE_SELF:
// every thread, the broker's and the embedded ClickHouse's included; child processes not).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return (time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())).Seconds()
}

// peakRSS returns this process's peak resident set size in bytes (Linux reports ru_maxrss in KiB).
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

// startCPUProfile starts a CPU profile into path ("" profiles nothing) and returns its stop.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cannot create the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot start the CPU profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// startTrace starts a Go execution trace into path ("" traces nothing) and returns its stop.
func startTrace(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cannot create the trace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot start the trace: %w", err)
	}
	return func() error {
		trace.Stop()
		return f.Close()
	}, nil
}
