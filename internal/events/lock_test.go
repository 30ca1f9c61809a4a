package events_test

import (
	"flag"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/events"
)

var updateLock = flag.Bool("update-lock", false, "add new schema files to schemas.lock (never changes a released entry)")

// TestSchemasLocked holds the released schemas fixed: every schema file is
// in schemas.lock with the hash of its bytes. -update-lock adds the files of
// a new version; it cannot change a released one.
func TestSchemasLocked(t *testing.T) {
	raw, err := os.ReadFile(events.LockFile)
	if err != nil && !(*updateLock && os.IsNotExist(err)) {
		t.Fatal(err)
	}
	lock, err := events.ParseLock(raw)
	if err != nil {
		t.Fatal(err)
	}
	unlocked, errs := lock.Verify(events.Files())
	for _, err := range errs {
		t.Error(err)
	}
	if len(unlocked) == 0 || t.Failed() {
		return
	}
	if !*updateLock {
		t.Fatalf("schema files not in %s: %s (run go test ./internal/events -run TestSchemasLocked -update-lock)", events.LockFile, strings.Join(unlocked, ", "))
	}
	for _, p := range unlocked {
		b, _ := fs.ReadFile(events.Files(), p)
		lock[p] = events.Hash(b)
	}
	if err := os.WriteFile(events.LockFile, lock.Format(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLockRefusesAnEditedReleasedSchema(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(events.LockFile)
	if err != nil {
		t.Fatal(err)
	}
	lock, _ := events.ParseLock(raw)
	p := "outbound/ticket.issued/2026-12-01.json"
	_, errs := lock.Verify(editedFiles(t, p, `"generation"`, `"gen"`))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), p+" changed after its release") {
		t.Errorf("got %v, want %s refused", errs, p)
	}
}
