package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrDamaged is returned for a database file that SQLite's integrity check
// (or opening it) finds damaged.
var ErrDamaged = errors.New("the SQLite database is damaged")

// IntegrityCheck runs the full PRAGMA integrity_check on the existing
// database file at path, without migrating or writing it. It returns
// ErrDamaged with SQLite's findings when the file is damaged.
func IntegrityCheck(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite %s: %w", path, err)
	}
	db, err := open(path, 1, true)
	if err != nil {
		return err
	}
	defer db.Close()
	return check(ctx, db, path, "integrity_check")
}

// check runs PRAGMA quick_check or integrity_check; both answer one row
// "ok", or rows naming each problem found.
func check(ctx context.Context, db *sql.DB, path, pragma string) error {
	rows, err := db.QueryContext(ctx, "PRAGMA "+pragma)
	if err != nil {
		return failed(path, pragma, err)
	}
	defer rows.Close()
	var findings []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return failed(path, pragma, err)
		}
		findings = append(findings, line)
	}
	if err := rows.Err(); err != nil {
		return failed(path, pragma, err)
	}
	if len(findings) == 1 && findings[0] == "ok" {
		return nil
	}
	return damaged(path, pragma, findings)
}

// failed classifies an error of the check itself: SQLite's "malformed" and
// "not a database" mean a damaged file; anything else (a missing directory,
// no permission) is reported as it is, with the path.
func failed(path, pragma string, err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return damaged(path, pragma, []string{err.Error()})
		}
	}
	return fmt.Errorf("sqlite %s: %s: %w", path, pragma, err)
}

func damaged(path, pragma string, findings []string) error {
	const shown = 10
	more := ""
	if len(findings) > shown {
		more = fmt.Sprintf(" (and %d more)", len(findings)-shown)
		findings = findings[:shown]
	}
	return fmt.Errorf("%w: %s: PRAGMA %s found: %s%s. Stop usher and restore %s from a backup; "+
		"do not let usher write to this file", ErrDamaged, path, pragma, strings.Join(findings, "; "), more, path)
}
