package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/store"
)

const auditUsage = `usage:
  usher audit verify [--data-dir DIR | --postgres-url URL]   check the whole hash chain (reads the store directly)
  usher audit log [--order ID] [--actor A] [--since T] [--after SEQ] [--limit N]   list records through the admin API`

// runAudit checks or lists the audit trail.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(auditUsage)
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(ctx, args[1:], getenv, stdout, stderr)
	case "log":
		return runAuditLog(ctx, args[1:], getenv, stdout, stderr)
	default:
		return errors.New(auditUsage)
	}
}

// runAuditVerify walks the chain in the store itself, not through a running
// usher: it works on a stopped one and on a copy of its data. It prints the
// report and fails when the chain is broken.
func runAuditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("usher audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr(getenv, "USHER_DATA_DIR", "usher-data"), "data directory holding usher.db (env USHER_DATA_DIR)")
	pgURL := fs.String("postgres-url", getenv("USHER_POSTGRES_URL"), "PostgreSQL URL; when set, the SQLite file is not read (env USHER_POSTGRES_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := openReadOnly(ctx, *dataDir, *pgURL)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := audit.Verify(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, rep)
	if !rep.OK() {
		return fmt.Errorf("audit log broken at record %d", rep.BadSeq)
	}
	return nil
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
	return store.New(db, db, readOnlyDialect(engine)), nil
}

// readOnlyDialect is the dialect of a store opened only to read: no write
// conflicts to retry, no statements to keep.
type readOnlyDialect string

func (d readOnlyDialect) Name() string             { return string(d) }
func (readOnlyDialect) Retryable(error) bool       { return false }
func (readOnlyDialect) UniqueViolation(error) bool { return false }
func (readOnlyDialect) Rejected(error) bool        { return false }
func (readOnlyDialect) CacheStatements() bool      { return false }

// runAuditLog prints one page of the audit log from a running usher.
func runAuditLog(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("usher audit log", flag.ContinueOnError)
	fs.SetOutput(stderr)
	q := url.Values{}
	for _, f := range []struct{ flag, param, usage string }{
		{"order", "order_id", "only records of this order"},
		{"actor", "actor", "only records of this actor (an admin token id, a source)"},
		{"since", "since", "only records at or after this RFC 3339 time"},
		{"after", "after", "only records after this seq (the next_after of the previous page)"},
		{"limit", "limit", "records per page (default 100, at most 1000)"},
	} {
		fs.Func(f.flag, f.usage, func(v string) error { q.Set(f.param, v); return nil })
	}
	var c adminClient
	c.bind(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := "/v1/audit"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	reply, err := c.do(ctx, http.MethodGet, path, nil, http.StatusOK)
	if err != nil {
		return err
	}
	_, err = stdout.Write(reply)
	return err
}
