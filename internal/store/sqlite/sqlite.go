// Package sqlite opens usher's store on an embedded SQLite database (the
// modernc.org/sqlite driver, no cgo) in WAL mode with full sync: a commit is
// on disk before the processor acknowledges the queue message it applied.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/migrations"
)

// Migrations returns the shared schema source (internal/store/migrations)
// expanded for SQLite.
func Migrations() (fs.FS, error) {
	return migrations.Expand(migrations.Dialect{
		"bytes":     "BLOB",
		"bigint":    "INTEGER",
		"autoinc":   "INTEGER PRIMARY KEY AUTOINCREMENT",
		"random_id": "lower(hex(randomblob(16)))",
	})
}

// Open opens (creating if needed) the database file at path, checks it with
// PRAGMA quick_check, applies the migrations and returns the store. A
// damaged file is refused with ErrDamaged before anything writes to it. One
// connection writes, so writers queue in Go instead of failing with
// SQLITE_BUSY; a small pool reads.
func Open(ctx context.Context, path string) (*store.DB, error) {
	write, err := open(path, 1, false)
	if err != nil {
		return nil, err
	}
	if err := check(ctx, write, path, "quick_check"); err != nil {
		_ = write.Close()
		return nil, err
	}
	sub, err := Migrations()
	if err != nil {
		_ = write.Close()
		return nil, err
	}
	if err := store.Migrate(ctx, write, goose.DialectSQLite3, sub); err != nil {
		_ = write.Close()
		return nil, err
	}
	read, err := open(path, 4, true)
	if err != nil {
		_ = write.Close()
		return nil, err
	}
	cp, err := startCheckpointer(path)
	if err != nil {
		_ = write.Close()
		_ = read.Close()
		return nil, err
	}
	db := store.New(write, read, dialect{})
	db.OnClose(cp.Close)
	return db, nil
}

func open(path string, conns int, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(ON)")
	// Savepoints need statement journals; in memory they cost no writes.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "cache_size(-16384)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Set("_txlock", "immediate")
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerCheckpointPages))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite path %s: %w", path, err)
	}
	// A URL, not "file:"+path: a path with # or ? or % must name its own file.
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	return db, nil
}

type dialect struct{}

func (dialect) Name() string { return "sqlite" }

func (dialect) CacheStatements() bool { return true }

func (dialect) Retryable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

func (dialect) Rejected(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && RejectedCode(e.Code())
}

// RejectedCode reports whether a (primary or extended) SQLite result code
// names an error that repeats on every attempt with the same values:
// SQLITE_CONSTRAINT (check, not null, foreign key, unique, a trigger's
// RAISE), SQLITE_TOOBIG and SQLITE_MISMATCH.
func RejectedCode(code int) bool {
	switch code & 0xff {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return true
	}
	return false
}

func (dialect) UniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
