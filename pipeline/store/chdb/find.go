package chdb

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultVersion is the libchdb version scripts/setup.sh installs.
const DefaultVersion = "26.7.3-stable.1"

// FindLibrary returns the path of libchdb.so: explicit if non-empty, else
// $LIVEPULSE_LIBCHDB, else $LIVEPULSE_HOME/chdb/DefaultVersion/libchdb.so,
// where LIVEPULSE_HOME defaults to $XDG_CACHE_HOME/livepulse or
// $HOME/.cache/livepulse (the same rule as scripts/setup.sh). A path that
// was named explicitly (argument or LIVEPULSE_LIBCHDB) must exist; there is
// no fallback past it, so a typo is not silently replaced by another library.
// The error wraps ErrLibraryNotFound and lists the paths tried.
func FindLibrary(explicit string) (string, error) {
	var candidate string
	switch {
	case explicit != "":
		candidate = explicit
	case os.Getenv("LIVEPULSE_LIBCHDB") != "":
		candidate = os.Getenv("LIVEPULSE_LIBCHDB")
	default:
		home, err := livepulseHome()
		if err != nil {
			return "", fmt.Errorf("cannot find libchdb.so (%v): %w", err, ErrLibraryNotFound)
		}
		candidate = filepath.Join(home, "chdb", DefaultVersion, "libchdb.so")
	}
	if fi, err := os.Stat(candidate); err != nil || fi.IsDir() {
		return "", fmt.Errorf("cannot find libchdb.so (tried %s): %w", candidate, ErrLibraryNotFound)
	}
	return candidate, nil
}

func livepulseHome() (string, error) {
	if h := os.Getenv("LIVEPULSE_HOME"); h != "" {
		return h, nil
	}
	if c := os.Getenv("XDG_CACHE_HOME"); c != "" {
		return filepath.Join(c, "livepulse"), nil
	}
	home := os.Getenv("HOME")
	if home == "" {
		return "", fmt.Errorf("neither LIVEPULSE_HOME, XDG_CACHE_HOME nor HOME is set")
	}
	return filepath.Join(home, ".cache", "livepulse"), nil
}
