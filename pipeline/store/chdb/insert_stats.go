package chdb

import "context"

// InsertStats is Insert that also returns the engine's counters for the insert (rows and bytes
// written), which the HTTP interface reports in X-ClickHouse-Summary.
func (e *Engine) InsertStats(ctx context.Context, insert, format string, data ...[]byte) (Stats, error) {
	if format == "" {
		format = "TabSeparated"
	}
	c, err := e.acquire(ctx)
	if err != nil {
		return Stats{}, err
	}
	defer e.release(c)
	st, err := streamInsert(c, insert, format)
	if err != nil {
		return Stats{}, err
	}
	defer st.destroy() // required for every handle, even after done or cancel
	for _, piece := range data {
		for len(piece) > 0 {
			if err := ctx.Err(); err != nil {
				st.cancel()
				return Stats{}, err
			}
			n := min(len(piece), insertChunk)
			if err := st.append(piece[:n]); err != nil {
				return Stats{}, err
			}
			piece = piece[n:]
		}
	}
	return st.done()
}
