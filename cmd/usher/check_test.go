package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/store/postgres"
	"github.com/usherhq/usher/internal/ushertest"
)

// TestCheckNeverCreatesOrMigratesASQLiteStore: on an empty directory and
// on a SQLite file that is not usher's, check fails clearly and writes
// nothing.
func TestCheckNeverCreatesOrMigratesASQLiteStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := runCLI(t, "check", "--data-dir", dir)
	if err == nil || !strings.Contains(out, "no usher database in "+dir) {
		t.Fatalf("check on an empty directory: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("check created %v in the directory it checked", entries)
	}

	path := filepath.Join(dir, "usher.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := tablesOf(t, "sqlite", "file:"+path+"?mode=ro")
	out, err = runCLI(t, "check", "--data-dir", dir)
	if err == nil || !strings.Contains(out, "not a usher store") {
		t.Fatalf("check on a foreign SQLite file: %v\n%s", err, out)
	}
	if after := tablesOf(t, "sqlite", "file:"+path+"?mode=ro"); after != before {
		t.Fatalf("check changed the tables of the file it checked: %q, then %q", before, after)
	}
}

// TestCheckOnPostgresOnlyReads: an empty schema is refused without a table
// created in it; a migrated one checks OK.
func TestCheckOnPostgresOnlyReads(t *testing.T) {
	t.Parallel()
	url := ushertest.PostgresURL(t)
	out, err := runCLI(t, "check", "--postgres-url", url)
	if err == nil || !strings.Contains(out, "not a usher store: the postgres database has none of usher's tables") {
		t.Fatalf("check on an empty schema: %v\n%s", err, out)
	}
	if tables := tablesOf(t, "pgx", url); tables != "" {
		t.Fatalf("check created tables in the schema it checked: %s", tables)
	}
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	db.Close()
	before := tablesOf(t, "pgx", url)
	out, err = runCLI(t, "check", "--postgres-url", url)
	if err != nil || !strings.Contains(out, "OK: 0 ticket types") {
		t.Fatalf("check on a migrated schema: %v\n%s", err, out)
	}
	if after := tablesOf(t, "pgx", url); after != before {
		t.Fatalf("check changed the schema: %s, then %s", before, after)
	}
}

// tablesOf lists the tables of a database (the current schema's on
// PostgreSQL), comma-separated.
func tablesOf(t *testing.T, driver, dsn string) string {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	query := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if driver == "pgx" {
		query = `SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema() ORDER BY tablename`
	}
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}
