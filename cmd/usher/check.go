package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/usherhq/usher/internal/invariant"
	"github.com/usherhq/usher/internal/store/engine"
	"github.com/usherhq/usher/internal/store/sqlite"
)

// runCheck verifies the integrity of an embedded store's SQLite file (the
// full PRAGMA integrity_check) and the inventory invariants of a store, and
// fails on any damage or violation.
func runCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("usher check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr(getenv, "USHER_DATA_DIR", "usher-data"), "data directory of an embedded usher")
	pgURL := fs.String("postgres-url", getenv("USHER_POSTGRES_URL"), "PostgreSQL URL instead of the data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	eng, addr := engine.Select(*pgURL, *dataDir)
	if eng.Integrity != nil {
		if err := eng.Integrity(ctx, addr); err != nil {
			if !errors.Is(err, sqlite.ErrDamaged) {
				return err
			}
			fmt.Fprintln(stdout, "DAMAGED", err)
			return sqlite.ErrDamaged
		}
		fmt.Fprintf(stdout, "OK: %s passes PRAGMA integrity_check\n", addr)
	}
	db, err := eng.Open(ctx, addr)
	if err != nil {
		return err
	}
	defer db.Close()
	violations, err := invariant.Check(ctx, db)
	if err != nil {
		return err
	}
	for _, v := range violations {
		fmt.Fprintln(stdout, "VIOLATION", v)
	}
	if len(violations) > 0 {
		return fmt.Errorf("%d invariant violations", len(violations))
	}
	inv, _ := db.AllInventory(ctx)
	fmt.Fprintf(stdout, "OK: %d ticket types: sold + held <= capacity, sold = valid + admitted tickets, held = active holds\n", len(inv))
	return nil
}
