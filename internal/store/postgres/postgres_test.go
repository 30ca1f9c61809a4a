package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/postgres"
	"github.com/usherhq/usher/internal/store/storetest"
)

const defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// baseURL is the server the tests use: USHER_TEST_POSTGRES_URL, or a local
// PostgreSQL with trust auth.
func baseURL() string {
	if u := os.Getenv("USHER_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return defaultURL
}

var admin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if admin.db != nil {
		_ = admin.db.Close()
	}
	os.Exit(code)
}

// adminDB returns the one connection pool that creates and drops the test
// schemas. When PostgreSQL cannot be reached the test is skipped, except in CI
// (env CI set), where it fails: CI must not pass by testing nothing.
func adminDB(t *testing.T) *sql.DB {
	t.Helper()
	admin.once.Do(func() {
		db, err := sql.Open("pgx", baseURL())
		if err != nil {
			admin.err = err
			return
		}
		db.SetMaxOpenConns(2)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			_ = db.Close()
			admin.err = err
			return
		}
		admin.db = db
	})
	if admin.err != nil {
		msg := fmt.Sprintf("PostgreSQL at %s is unreachable (set USHER_TEST_POSTGRES_URL): %v", redact(baseURL()), admin.err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return admin.db
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// freshSchema creates an empty schema dropped when t ends and returns a URL
// whose connections use it as search_path.
func freshSchema(t *testing.T) string {
	t.Helper()
	db := adminDB(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "usher_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(baseURL())
	if err != nil {
		t.Fatalf("parse USHER_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// open returns a store on a fresh schema; registered after the schema's
// cleanup, its Close runs before the DROP.
func open(t *testing.T) *store.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), freshSchema(t))
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	adminDB(t)
	storetest.Run(t, open)
}

func TestMigrations(t *testing.T) {
	adminDB(t)
	storetest.RunReopen(t, func(t *testing.T) func() (*store.DB, error) {
		u := freshSchema(t)
		return func() (*store.DB, error) { return postgres.Open(t.Context(), u) }
	})
}

// TestSchemaIsolation checks the premise of the suite: a store opened on a
// test schema writes there and nowhere else.
func TestSchemaIsolation(t *testing.T) {
	ctx := t.Context()
	u := freshSchema(t)
	db, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	defer db.Close()
	schema, _ := url.Parse(u)
	var n int
	err = adminDB(t).QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'inventory'`,
		schema.Query().Get("search_path")).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("inventory table in the test schema: count %d, %v; want 1", n, err)
	}
}
