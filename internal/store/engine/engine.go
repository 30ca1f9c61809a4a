// Package engine is the registry of usher's store engines: each engine's
// name, how it opens (and migrates) a store, the schema it applies and the
// integrity check of its files. usher serve, usher check, usher keys and
// the engine tests choose an engine here and nowhere else.
package engine

import (
	"context"
	"io/fs"
	"path/filepath"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/postgres"
	"github.com/usherhq/usher/internal/store/sqlite"
)

// Engine names.
const (
	// SQLite is the embedded engine: one database file in the data directory.
	SQLite = "sqlite"
	// Postgres is PostgreSQL, shared by several usher processes.
	Postgres = "postgres"
)

// SQLiteFile is the SQLite database's name in the data directory.
const SQLiteFile = "usher.db"

// Engine is one store engine.
type Engine struct {
	// Name is the engine's name, SQLite or Postgres.
	Name string
	// Open opens the store at addr (a database file for SQLite, a URL for
	// PostgreSQL), applies the migrations and returns it.
	Open func(ctx context.Context, addr string) (*store.DB, error)
	// Migrations returns the shared schema source expanded for the engine.
	Migrations func() (fs.FS, error)
	// Integrity, when not nil, checks the store's files at addr in full
	// before anything opens them (usher check).
	Integrity func(ctx context.Context, addr string) error
}

// Engines returns the registered engines: one line per engine.
func Engines() []Engine {
	return []Engine{
		{Name: SQLite, Open: sqlite.Open, Migrations: sqlite.Migrations, Integrity: sqlite.IntegrityCheck},
		{Name: Postgres, Open: postgres.Open, Migrations: postgres.Migrations},
	}
}

// Lookup returns the engine named name.
func Lookup(name string) (Engine, bool) {
	for _, e := range Engines() {
		if e.Name == name {
			return e, true
		}
	}
	return Engine{}, false
}

// Select returns the engine a configuration chooses and its address:
// PostgreSQL at postgresURL when that is set, else SQLite's file in dataDir.
func Select(postgresURL, dataDir string) (Engine, string) {
	if postgresURL != "" {
		e, _ := Lookup(Postgres)
		return e, postgresURL
	}
	e, _ := Lookup(SQLite)
	return e, filepath.Join(dataDir, SQLiteFile)
}

// Open opens the store that Select chooses.
func Open(ctx context.Context, postgresURL, dataDir string) (*store.DB, error) {
	e, addr := Select(postgresURL, dataDir)
	return e.Open(ctx, addr)
}
