package crashtest

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveOnce runs `usher serve` on dataDir, expecting it to fail at start,
// and returns its output; a usher still running after 30 s fails the test.
func serveOnce(t *testing.T, dataDir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, usherBin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--admin-token", adminToken)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("usher serve on %s still ran after 30 s, want a refusal; output:\n%s", dataDir, out)
	}
	if err == nil {
		t.Fatalf("usher serve on %s succeeded, want a refusal; output:\n%s", dataDir, out)
	}
	return string(out)
}

// TestSecondServeOnTheSameDataDir: a second usher on a data directory in
// use fails at once, naming the directory and the pid holding it, and the
// first one keeps accepting webhooks.
func TestSecondServeOnTheSameDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := startChild(t, dir)
	out := serveOnce(t, dir)
	for _, want := range []string{dir, "pid " + strconv.Itoa(c.cmd.Process.Pid)} {
		if !strings.Contains(out, want) {
			t.Errorf("the second usher's refusal does not mention %q:\n%s", want, out)
		}
	}
	source, key := credentials(t, dir)
	ev := newEvent("msg_second", "ord_second", "second-show", 1)
	putCapacity(t, newClient(), c.url, ev.Show, 10)
	if r := newSender(newClient(), source, key).send(context.Background(), c.url, ev); !r.accepted() {
		t.Fatalf("the first usher after the second's refusal: got %s, want 2xx", r)
	}
	waitOrder(t, newClient(), c.url, ev.OrderID)
}

// TestReadOnlyDataDirIsNamed: on a read-only data directory usher refuses
// to start with an error that names the directory.
func TestReadOnlyDataDirIsNamed(t *testing.T) {
	t.Parallel()
	dir := mountTmpfs(t, "1m")
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount the tmpfs read-only: %v: %s", err, out)
	}
	out := serveOnce(t, dir)
	if !strings.Contains(out, dir) || !strings.Contains(out, "read-only") {
		t.Errorf("the refusal does not name the read-only directory %s:\n%s", dir, out)
	}
}
