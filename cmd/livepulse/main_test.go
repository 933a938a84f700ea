package main

import (
	"os"
	"testing"
)

// TestMain lets tests start the test binary itself as `livepulse`: with LIVEPULSE_AS_MAIN=1 it
// runs main instead of the tests (no separate build step, and the exact code under test).
func TestMain(m *testing.M) {
	if os.Getenv("LIVEPULSE_AS_MAIN") == "1" {
		os.Args = append([]string{"livepulse"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
