package chdb

import "errors"

// ErrNotOpen is returned by Fork when no engine is open in the process.
var ErrNotOpen = errors.New("chdb: no engine open in this process")

// Fork opens another Engine on the loaded library and the open data directory, with its own
// connections and query-level settings: e.g. a readonly=1 pool with result limits for user SQL,
// beside the read-write engine that ingests. It fails with ErrNotOpen when no engine is open.
func Fork(conns int, settings map[string]string) (*Engine, error) {
	proc.mu.Lock()
	lib, dir, open := proc.libPath, proc.dataDir, proc.open
	proc.mu.Unlock()
	if open == 0 {
		return nil, ErrNotOpen
	}
	if dir == "" {
		dir = ":memory:"
	}
	return Open(Config{LibraryPath: lib, DataDir: dir, Conns: conns, Settings: settings})
}
