package chdb

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func touch(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFindLibrary(t *testing.T) {
	tmp := t.TempDir()
	lib := touch(t, filepath.Join(tmp, "explicit", "libchdb.so"))
	envLib := touch(t, filepath.Join(tmp, "env", "libchdb.so"))
	home := filepath.Join(tmp, "lphome")
	homeLib := touch(t, filepath.Join(home, "chdb", DefaultVersion, "libchdb.so"))
	xdg := filepath.Join(tmp, "xdg")
	userHome := filepath.Join(tmp, "home")

	tests := []struct {
		name     string
		explicit string
		env      map[string]string
		want     string // "" = ErrLibraryNotFound
		tried    string // path the error must name
	}{
		{name: "explicit", explicit: lib, env: map[string]string{"LIVEPULSE_LIBCHDB": envLib}, want: lib},
		{name: "explicit missing, no fallback", explicit: lib + ".nope", env: map[string]string{"LIVEPULSE_HOME": home}, tried: lib + ".nope"},
		{name: "LIVEPULSE_LIBCHDB", env: map[string]string{"LIVEPULSE_LIBCHDB": envLib, "LIVEPULSE_HOME": home}, want: envLib},
		{name: "LIVEPULSE_LIBCHDB missing", env: map[string]string{"LIVEPULSE_LIBCHDB": envLib + ".nope", "LIVEPULSE_HOME": home}, tried: envLib + ".nope"},
		{name: "LIVEPULSE_HOME", env: map[string]string{"LIVEPULSE_HOME": home}, want: homeLib},
		{name: "XDG_CACHE_HOME", env: map[string]string{"XDG_CACHE_HOME": xdg},
			tried: filepath.Join(xdg, "livepulse", "chdb", DefaultVersion, "libchdb.so")},
		{name: "HOME", env: map[string]string{"HOME": userHome},
			tried: filepath.Join(userHome, ".cache", "livepulse", "chdb", DefaultVersion, "libchdb.so")},
		{name: "directory is not a library", explicit: tmp, tried: tmp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"LIVEPULSE_LIBCHDB", "LIVEPULSE_HOME", "XDG_CACHE_HOME"} {
				t.Setenv(k, tt.env[k]) // "" counts as unset
			}
			t.Setenv("HOME", tt.env["HOME"])
			got, err := FindLibrary(tt.explicit)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("FindLibrary(%q) = %q, %v; want %q", tt.explicit, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrLibraryNotFound) {
				t.Fatalf("FindLibrary(%q) = %q, %v; want ErrLibraryNotFound", tt.explicit, got, err)
			}
			for _, s := range []string{tt.tried, "make setup", "LIVEPULSE_LIBCHDB", "--libchdb"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}
