// Package postgres opens usher's store on PostgreSQL through pgx, for
// deployments that run many usher processes against one database.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/migrations"
)

// Migrations returns the shared schema source (internal/store/migrations)
// expanded for PostgreSQL.
func Migrations() (fs.FS, error) {
	return migrations.Expand(migrations.Dialect{
		"bytes":     "BYTEA",
		"bigint":    "BIGINT",
		"autoinc":   "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
		"random_id": "md5(random()::text || clock_timestamp()::text)",
	})
}

// Open connects to the database at url (postgres://…), applies the
// migrations and returns the store.
func Open(ctx context.Context, url string) (*store.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	sub, err := Migrations()
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	// Several usher processes may start at once: an advisory lock makes one
	// of them migrate while the others wait.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	if err := store.Migrate(ctx, db, goose.DialectPostgres, sub, goose.WithSessionLocker(locker)); err != nil {
		_ = db.Close()
		return nil, err
	}
	return store.New(db, db, dialect{}), nil
}

type dialect struct{}

func (dialect) Name() string { return "postgres" }

func (dialect) CacheStatements() bool { return false }

func (dialect) Retryable(err error) bool {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case "40001", "40P01", "55P03": // serialization_failure, deadlock_detected, lock_not_available
		return true
	}
	return false
}

func (dialect) Rejected(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && RejectedCode(e.Code)
}

// RejectedCode reports whether a SQLSTATE names an error that repeats on
// every attempt with the same values: class 22 (data exception: invalid
// encoding such as a NUL byte, value too long, out of range), class 23
// (integrity constraint: check, not null, foreign key, unique) and class 54
// (program limit exceeded: an index row too big).
func RejectedCode(sqlstate string) bool {
	if len(sqlstate) != 5 {
		return false
	}
	switch sqlstate[:2] {
	case "22", "23", "54":
		return true
	}
	return false
}

func (dialect) UniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}
