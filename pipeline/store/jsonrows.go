package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// QueryRows runs sql and decodes its JSONEachRow answer into rows of T (encoding/json field
// tags name the columns).
func QueryRows[T any](ctx context.Context, s *Store, sql string) ([]T, error) {
	out, err := s.b.Query(ctx, sql, "JSONEachRow")
	if err != nil {
		return nil, err
	}
	var rows []T
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var r T
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("cannot decode the store's answer: %w", err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}
