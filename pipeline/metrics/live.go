package metrics

// LiveRows returns Live for every stream of the shard: the current, provisional figures of all
// open minutes (for a ticker that should not wait for minutes to close).
func (sh *Shard) LiveRows() []MinuteRow {
	var out []MinuteRow
	for id := range sh.streams {
		out = append(out, sh.Live(id)...)
	}
	return out
}
