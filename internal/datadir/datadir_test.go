package datadir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/datadir"
)

func TestLockIsExclusiveAndReleased(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	first, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = datadir.Acquire(dir)
	if !errors.Is(err, datadir.ErrLocked) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock: got %v, want %v naming %s and pid %d", err, datadir.ErrLocked, dir, os.Getpid())
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	_ = again.Release()
}

func TestGuard(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		files   []string // created in the directory before the start
		damaged bool
	}{
		{"empty directory: a first start", nil, false},
		{"database present", []string{"usher.db"}, false},
		{"only the lock and a master key", []string{datadir.LockFile, "master.key"}, false},
		{"queue state without the database", []string{"jetstream/stream"}, true},
		{"credentials without the database", []string{"demo-credentials.json"}, true},
		{"identity without the database", []string{datadir.IdentityFile}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, f := range c.files {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("store-a\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			g := datadir.Guard{Dir: dir, StoreFile: "usher.db", Traces: []string{"jetstream", "demo-credentials.json"}}
			_, err := g.BeforeOpen()
			if got := errors.Is(err, datadir.ErrDamaged); got != c.damaged {
				t.Fatalf("BeforeOpen: got %v, want damaged %v", err, c.damaged)
			}
		})
	}
}

func TestGuardRecordsAndComparesTheStoreID(t *testing.T) {
	t.Parallel()
	g := datadir.Guard{Dir: t.TempDir()}
	if err := g.AfterOpen("", "store-a"); err != nil {
		t.Fatal(err)
	}
	id, err := g.BeforeOpen()
	if err != nil || id != "store-a" {
		t.Fatalf("BeforeOpen after recording: %q, %v; want store-a", id, err)
	}
	if err := g.AfterOpen(id, "store-a"); err != nil {
		t.Errorf("same store: %v", err)
	}
	if err := g.AfterOpen(id, "store-b"); !errors.Is(err, datadir.ErrDamaged) {
		t.Errorf("another store: got %v, want %v", err, datadir.ErrDamaged)
	}
}

// WriteFileSynced replaces the file whole, mode 0600, and leaves no
// temporary file behind.
func TestWriteFileSynced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "MARKS")
	for _, content := range []string{"first\n", "second, longer\n", "3\n"} {
		if err := datadir.WriteFileSynced(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("after writing %q: read %q, %v", content, got, err)
		}
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v), want 0600", info.Mode().Perm(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want only the file", len(entries))
	}
	if err := datadir.WriteFileSynced(filepath.Join(dir, "missing", "X"), []byte("x")); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
