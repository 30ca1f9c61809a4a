package sqlite_test

import (
	"testing"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/usherhq/usher/internal/store/sqlite"
)

func TestRejectedCode(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]bool{
		sqlite3.SQLITE_CONSTRAINT:            true,
		sqlite3.SQLITE_CONSTRAINT_CHECK:      true,
		sqlite3.SQLITE_CONSTRAINT_UNIQUE:     true,
		sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY: true,
		sqlite3.SQLITE_CONSTRAINT_NOTNULL:    true,
		sqlite3.SQLITE_CONSTRAINT_TRIGGER:    true,
		sqlite3.SQLITE_TOOBIG:                true,
		sqlite3.SQLITE_MISMATCH:              true,
		sqlite3.SQLITE_BUSY:                  false,
		sqlite3.SQLITE_BUSY_SNAPSHOT:         false,
		sqlite3.SQLITE_LOCKED:                false,
		sqlite3.SQLITE_IOERR:                 false,
		sqlite3.SQLITE_FULL:                  false,
		sqlite3.SQLITE_CORRUPT:               false,
	} {
		if got := sqlite.RejectedCode(code); got != want {
			t.Errorf("RejectedCode(%d) = %v, want %v", code, got, want)
		}
	}
}
