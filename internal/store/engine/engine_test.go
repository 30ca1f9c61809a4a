package engine_test

import (
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/usherhq/usher/internal/store/engine"
)

func TestSelect(t *testing.T) {
	t.Parallel()
	e, addr := engine.Select("", "/data")
	if e.Name != engine.SQLite || addr != filepath.Join("/data", "usher.db") || e.Integrity == nil {
		t.Errorf("Select without a URL = %s %q", e.Name, addr)
	}
	url := "postgres://u@h/db"
	if e, addr := engine.Select(url, "/data"); e.Name != engine.Postgres || addr != url {
		t.Errorf("Select with a URL = %s %q", e.Name, addr)
	}
	if _, ok := engine.Lookup("mysql"); ok {
		t.Error("Lookup of an unregistered engine succeeded")
	}
}

// TestEnginesShareOneSchemaSource checks that every engine applies the same
// goose versions from the one source.
func TestEnginesShareOneSchemaSource(t *testing.T) {
	t.Parallel()
	var want []string
	for _, e := range engine.Engines() {
		if got, ok := engine.Lookup(e.Name); !ok || got.Name != e.Name || got.Open == nil || got.Migrations == nil {
			t.Fatalf("Lookup(%q) = %+v, %v", e.Name, got, ok)
		}
		fsys, err := e.Migrations()
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		names, err := fs.Glob(fsys, "*.sql")
		if err != nil || len(names) == 0 {
			t.Fatalf("%s migrations: %q, %v", e.Name, names, err)
		}
		if want == nil {
			want = names
		} else if !slices.Equal(names, want) {
			t.Errorf("%s migrations %q, want %q", e.Name, names, want)
		}
	}
}

// TestOpenThroughRegistry opens a fresh SQLite store the way usher serve
// does and writes and reads it back.
func TestOpenThroughRegistry(t *testing.T) {
	t.Parallel()
	db, err := engine.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if _, err := db.PutCapacity(t.Context(), "show_1", "ga", 10); err != nil {
		t.Fatalf("PutCapacity: %v", err)
	}
	inv, err := db.AllInventory(t.Context())
	if err != nil || len(inv) != 1 || inv[0].Capacity != 10 {
		t.Fatalf("AllInventory = %+v, %v", inv, err)
	}
}
