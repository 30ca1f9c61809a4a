// Package enginetest opens stores for tests through the engine registry,
// the way usher serve does: a test that needs a real store asks for one
// here rather than reaching for an engine package.
package enginetest

import (
	"path/filepath"
	"testing"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/engine"
)

// SQLite opens a fresh embedded store in t's temporary directory, migrated
// and closed when t ends.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db := SQLiteAt(t, filepath.Join(t.TempDir(), engine.SQLiteFile))
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// SQLiteAt opens the embedded store at path, migrated; the caller closes
// it (a test that plays a crash closes and reopens it itself).
func SQLiteAt(t testing.TB, path string) *store.DB {
	t.Helper()
	e, ok := engine.Lookup(engine.SQLite)
	if !ok {
		t.Fatalf("engine %q is not registered", engine.SQLite)
	}
	db, err := e.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open %s store at %s: %v", e.Name, path, err)
	}
	return db
}
