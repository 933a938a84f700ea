//go:build !cgo

package chdb

import "errors"

// Without cgo the package still builds, so that the rest of livepulse does,
// but Open always fails.

var errNoCgo = errors.New("chdb: built without cgo (CGO_ENABLED=0); the engine cannot be loaded")

const haveCgo = false

type cconn = *struct{}

type insertStream struct{}

func dlopenLibrary(string) error                                { return errNoCgo }
func libVersion() string                                        { return "" }
func connect([]string) (cconn, int, error)                      { return nil, 0, errNoCgo }
func closeConn(cconn)                                           {}
func query(cconn, string, string) ([]byte, Stats, error)        { return nil, Stats{}, errNoCgo }
func streamInsert(cconn, string, string) (*insertStream, error) { return nil, errNoCgo }
func (*insertStream) append([]byte) error                       { return errNoCgo }
func (*insertStream) done() (Stats, error)                      { return Stats{}, errNoCgo }
func (*insertStream) cancel()                                   {}
func (*insertStream) destroy()                                  {}
func classify(cconn, string) (Analysis, error)                  { return Analysis{}, errNoCgo }
