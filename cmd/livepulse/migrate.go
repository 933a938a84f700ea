package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/livepulse/livepulse/pipeline/store"
)

func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var so storeOptions
	so.register(fs, "livepulse-data")
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := so.open(ctx, newLogger("warn"))
	if err != nil {
		return err
	}
	defer st.Close()
	from, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("schema at version %d (was %d)\n", store.SchemaVersion(), from)
	return nil
}
