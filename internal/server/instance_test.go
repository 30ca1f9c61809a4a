package server_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/usherhq/usher/internal/ushertest"
)

// TestInstanceIDIsKeptInTheDataDir: a restart on the same data directory
// is the same instance (it releases its dead run's delivery leases at
// start); another data directory is another instance.
func TestInstanceIDIsKeptInTheDataDir(t *testing.T) {
	t.Parallel()
	read := func(s *ushertest.Server) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(s.Config.DataDir, "instance-id"))
		if err != nil || len(b) < 8 {
			t.Fatalf("instance id: %q, %v", b, err)
		}
		return string(b)
	}
	a := ushertest.Start(t)
	first := read(a)
	a.Restart()
	if again := read(a); again != first {
		t.Fatalf("instance id after a restart %q, want %q", again, first)
	}
	if other := read(ushertest.Start(t)); other == first {
		t.Fatalf("two data directories share the instance id %q", first)
	}
}
