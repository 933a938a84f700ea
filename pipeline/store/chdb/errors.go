package chdb

import (
	"errors"
	"strconv"
	"strings"
)

// ErrLibraryNotFound is returned (wrapped, with the paths tried) when libchdb.so cannot be found.
var ErrLibraryNotFound = errors.New("chdb: libchdb.so not found: run `make setup` (or scripts/setup.sh) to install it, " +
	"or point to it with --libchdb or LIVEPULSE_LIBCHDB")

// ErrClosed is returned by every call on an Engine after Close.
var ErrClosed = errors.New("chdb: engine closed")

// Error is an error reported by the engine.
type Error struct {
	Code    int    // ClickHouse error code (e.g. 60 UNKNOWN_TABLE, 62 SYNTAX_ERROR); 0 if the text carries none
	Message string // the engine's text, e.g. "Code: 60. DB::Exception: Unknown table ..."
}

func (e *Error) Error() string { return "chdb: " + e.Message }

// newError parses the engine's text; an empty text is no error.
func newError(msg string) error {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return nil
	}
	return &Error{Code: parseCode(msg), Message: msg}
}

// parseCode finds the "Code: N." the engine puts at the start of an exception.
func parseCode(msg string) int {
	i := strings.Index(msg, "Code: ")
	if i < 0 {
		return 0
	}
	rest := msg[i+len("Code: "):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	code, err := strconv.Atoi(rest[:j])
	if err != nil {
		return 0
	}
	return code
}
