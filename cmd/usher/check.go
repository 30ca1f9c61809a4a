package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/invariant"
	"github.com/usherhq/usher/internal/store/sqlite"
)

// newCheckCmd verifies the integrity of an embedded store's SQLite file
// (the full PRAGMA integrity_check) and the inventory invariants of a
// store, and fails on any damage or violation. It only reads: the store is
// opened read-only and never migrated.
func newCheckCmd(e *env) *cobra.Command {
	var dataDir, pgURL string
	cmd := &cobra.Command{
		Use:   "check [--data-dir DIR | --postgres-url URL]",
		Short: "Verify a store's integrity and inventory invariants (read-only)",
		Long: "Opens the store read-only (never migrates it, never creates it) and checks the\n" +
			"SQLite file's integrity and that sold + held <= capacity, sold = valid + admitted\n" +
			"tickets, held = active holds. Fails on an empty or missing store.",
		Example: "  usher check --data-dir /var/lib/usher\n  usher check --postgres-url postgres://usher@db/usher",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(cmd.Context(), dataDir, pgURL, e.stdout)
		},
	}
	bindStoreFlags(cmd, e.getenv, &dataDir, &pgURL)
	return cmd
}

func runCheck(ctx context.Context, dataDir, pgURL string, stdout io.Writer) error {
	db, err := openReadOnly(ctx, dataDir, pgURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if pgURL == "" {
		path := filepath.Join(dataDir, "usher.db")
		if err := sqlite.IntegrityCheck(ctx, path); err != nil {
			if !errors.Is(err, sqlite.ErrDamaged) {
				return err
			}
			fmt.Fprintln(stdout, "DAMAGED", err)
			return sqlite.ErrDamaged
		}
		fmt.Fprintf(stdout, "OK: %s passes PRAGMA integrity_check\n", path)
	}
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
	inv, err := db.AllInventory(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "OK: %d ticket types: sold + held <= capacity, sold = valid + admitted tickets, held = active holds\n", len(inv))
	return nil
}
