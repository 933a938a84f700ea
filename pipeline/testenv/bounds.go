package testenv

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/livepulse/livepulse/pipeline/store"
)

// CheckQueryBounds probes st's bounded users' queries (set to a 1 s time limit, 1,000 rows and
// 100 kB): each limit fires, with ErrQueryLimit, and a query's SETTINGS cannot lift them.
func CheckQueryBounds(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	fails := func(what, sql string, want error) {
		t.Helper()
		start := time.Now()
		_, err := st.QueryReadOnly(ctx, sql, "")
		if !errors.Is(err, want) {
			t.Errorf("%s: %q: %v, want %v", what, sql, err, want)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: took %v", what, d)
		}
	}
	start := time.Now()
	fails("time limit", "SELECT count() FROM system.numbers", store.ErrQueryLimit)
	if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
		t.Errorf("time limit of 1 s fired after %v", d)
	}
	fails("row limit", "SELECT number FROM system.numbers LIMIT 1001", store.ErrQueryLimit)
	fails("row limit, subquery", "SELECT * FROM (SELECT number FROM system.numbers LIMIT 5000)", store.ErrQueryLimit)
	// 900 rows of 16 bytes and a string of ~200 bytes each: over 100 kB, under the row limit.
	fails("byte limit", "SELECT number, concat(toString(number), replaceRegexpAll(toString(cityHash64(number)), '.', 'xxxxxxxxxx')) FROM system.numbers LIMIT 900", store.ErrQueryLimit)
	fails("lifting the row limit", "SELECT number FROM system.numbers LIMIT 5000 SETTINGS max_result_rows = 0", store.ErrReadOnly)
	fails("lifting the time limit", "SELECT count() FROM system.numbers SETTINGS max_execution_time = 0", store.ErrReadOnly)
	fails("leaving readonly", "SELECT 1 SETTINGS readonly = 0", store.ErrReadOnly)
	out, err := st.QueryReadOnly(ctx, "SELECT number FROM system.numbers LIMIT 1000", "")
	if err != nil || strings.Count(string(out), "\n") != 1000 {
		t.Errorf("1000 rows at a limit of 1000: %d lines, %v", strings.Count(string(out), "\n"), err)
	}
}
