package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/livepulse/livepulse/pipeline/store"
)

func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var so storeOptions
	so.register(fs, "livepulse-data")
	printDDL := fs.Bool("print-ddl", false, "print the DDL for --clickhouse-cluster and exit, connecting nowhere")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *printDDL {
		ddl, err := store.ClusterDDL(so.cluster)
		if err != nil {
			return err
		}
		for _, stmt := range ddl {
			fmt.Printf("%s;\n\n", strings.TrimSpace(stmt))
		}
		return nil
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
