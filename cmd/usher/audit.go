package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/client"
	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/store"
)

// newAuditCmd checks or lists the audit trail.
func newAuditCmd(e *env) *cobra.Command {
	return group("audit", "Verify the hash-chained audit trail, or list it", newAuditVerifyCmd(e), newAuditLogCmd(e))
}

// newAuditVerifyCmd walks the chain in the store itself, not through a
// running usher: it works on a stopped one and on a copy of its data. It
// prints the report and fails when the chain is broken.
func newAuditVerifyCmd(e *env) *cobra.Command {
	var dataDir, pgURL string
	cmd := &cobra.Command{
		Use:     "verify [--data-dir DIR | --postgres-url URL]",
		Short:   "Check the whole hash chain (reads the store directly, read-only)",
		Example: "  usher audit verify --data-dir /var/lib/usher\n  usher audit verify --postgres-url postgres://usher@db/usher",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := openReadOnly(ctx, dataDir, pgURL)
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := audit.Verify(ctx, db)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, rep)
			if !rep.OK() {
				return fmt.Errorf("audit log broken at record %d", rep.BadSeq)
			}
			return nil
		},
	}
	bindStoreFlags(cmd, e.getenv, &dataDir, &pgURL)
	return cmd
}

// bindStoreFlags adds --data-dir and --postgres-url, the store a command
// opens directly.
func bindStoreFlags(cmd *cobra.Command, getenv func(string) string, dataDir, pgURL *string) {
	cmd.Flags().StringVar(dataDir, "data-dir", envOr(getenv, "USHER_DATA_DIR", "usher-data"), "data directory holding usher.db (env USHER_DATA_DIR)")
	cmd.Flags().StringVar(pgURL, "postgres-url", getenv("USHER_POSTGRES_URL"), "PostgreSQL URL; when set, the SQLite file is not read (env USHER_POSTGRES_URL)")
}

// openReadOnly opens the store without migrating it, on connections that
// refuse writes: a check must not change what it checks.
func openReadOnly(ctx context.Context, dataDir, pgURL string) (*store.DB, error) {
	var db *sql.DB
	var engine string
	if pgURL != "" {
		u, err := url.Parse(pgURL)
		if err != nil {
			return nil, fmt.Errorf("postgres url: %w", err)
		}
		q := u.Query()
		q.Set("default_transaction_read_only", "on") // sent as a run-time parameter
		u.RawQuery = q.Encode()
		if db, err = sql.Open("pgx", u.String()); err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		engine = "postgres"
	} else {
		path, err := filepath.Abs(filepath.Join(dataDir, "usher.db"))
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no usher database in %s: %w", dataDir, err)
		}
		q := url.Values{}
		q.Set("mode", "ro") // never creates the file, never writes it
		q.Add("_pragma", "query_only(ON)")
		q.Add("_pragma", "busy_timeout(10000)")
		dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}).String()
		if db, err = sql.Open("sqlite", dsn); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		engine = "sqlite"
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect %s: %w", engine, err)
	}
	if err := requireUsherSchema(ctx, db, engine); err != nil {
		_ = db.Close()
		return nil, err
	}
	return store.New(db, db, readOnlyDialect(engine)), nil
}

// usherTables are tables every usher store has since its first migration;
// a store without them is empty or someone else's.
var usherTables = []string{"sources", "inventory", "orders", "tickets", "audit_log"}

// requireUsherSchema fails, naming what is missing, unless db holds usher's
// tables (in the search_path's first schema on PostgreSQL).
func requireUsherSchema(ctx context.Context, db *sql.DB, engine string) error {
	query := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if engine == "postgres" {
		query = `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1`
	}
	var missing []string
	for _, t := range usherTables {
		var n int
		if err := db.QueryRowContext(ctx, query, t).Scan(&n); err != nil {
			return fmt.Errorf("read %s schema: %w", engine, err)
		}
		if n == 0 {
			missing = append(missing, t)
		}
	}
	if len(missing) == len(usherTables) {
		return fmt.Errorf("not a usher store: the %s database has none of usher's tables (empty, or not migrated: start `usher serve` on it once)", engine)
	}
	if len(missing) > 0 {
		return fmt.Errorf("not a complete usher store: the %s database lacks tables %v", engine, missing)
	}
	return nil
}

// readOnlyDialect is the dialect of a store opened only to read: no write
// conflicts to retry, no statements to keep.
type readOnlyDialect string

func (d readOnlyDialect) Name() string             { return string(d) }
func (readOnlyDialect) Retryable(error) bool       { return false }
func (readOnlyDialect) UniqueViolation(error) bool { return false }
func (readOnlyDialect) Rejected(error) bool        { return false }
func (readOnlyDialect) CacheStatements() bool      { return false }

// newAuditLogCmd prints one page of the audit log from a running usher.
func newAuditLogCmd(e *env) *cobra.Command {
	var c adminClient
	var order, actor, since string
	var after int64
	var limit int
	cmd := &cobra.Command{
		Use:     "log [--order ID] [--actor A] [--since T] [--after SEQ] [--limit N]",
		Short:   "List audit records through the admin API",
		Example: "  usher audit log --order ord_1a2b3c\n  usher audit log --since 2025-01-01T00:00:00Z --output json",
		Args:    noArgs,
	}
	out := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkOutput(*out); err != nil {
			return err
		}
		p := client.ListAuditRecordsParams{OrderID: optString(order), Actor: optString(actor), Limit: optInt(limit)}
		if after > 0 {
			p.After = client.NewOptInt64(after)
		}
		var err error
		if p.Since, err = optTime("since", since); err != nil {
			return err
		}
		reply, err := call(cmd.Context(), &c, func(ctx context.Context, api *client.Client) (client.ListAuditRecordsRes, error) {
			return api.ListAuditRecords(ctx, p)
		})
		if err != nil {
			return err
		}
		return render(e.stdout, *out, readView{list: "records", columns: []string{"seq", "at", "actor", "action", "entity_type", "entity_id", "order_id"}, next: "next_after"}, reply)
	}
	cmd.Flags().StringVar(&order, "order", "", "only records of this order")
	cmd.Flags().StringVar(&actor, "actor", "", "only records of this actor (an admin token id, a source)")
	cmd.Flags().StringVar(&since, "since", "", "only records at or after this RFC 3339 time")
	cmd.Flags().Int64Var(&after, "after", 0, "only records after this seq (the next_after of the previous page)")
	cmd.Flags().IntVar(&limit, "limit", 0, "records per page (default 100, at most 1000)")
	c.bind(cmd.Flags(), e.getenv)
	return cmd
}
