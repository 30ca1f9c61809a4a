package crashtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usherhq/usher"
)

// mountTmpfs mounts a tmpfs of size (e.g. "4m") on a new directory and
// unmounts it when the test ends. It skips the test where mounting is not
// permitted (not root, or no CAP_SYS_ADMIN in a container).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk-full test: mounting a small tmpfs needs root")
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("disk-full test: cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	// Registered before the child starts, so it runs after the child is killed.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s; lazily unmounting", dir, err, out)
			_ = exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

func resizeTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v: %s", err, out)
	}
}

// TestDiskFullAnswers503 runs usher on a 4 MiB file system with the default
// queue cap (1 GiB, far more than the disk). When the disk fills, webhooks
// must get 503, the log must say why, and the store must not be corrupted;
// once there is room again, every acknowledged webhook is applied.
func TestDiskFullAnswers503(t *testing.T) {
	t.Parallel()
	const show = "disk-show"
	dir := mountTmpfs(t, "4m")
	client := newClient()
	c := startChild(t, dir, "--roles", "ingest")
	putCapacity(t, client, c.url, show, 1_000_000)
	source, key := credentials(t, dir)
	snd := newSender(client, source, key)

	accepted, refused := sendUntilRefused(t, snd, c.url, show, "msg_disk_%05d", "ord_disk_%05d", 20000,
		"20000 webhooks of 1 KiB accepted on a 4 MiB disk")
	t.Logf("the 4 MiB disk took %d webhooks, then usher answered %s", len(accepted), refused)
	if refused.Err != nil {
		t.Fatalf("a full disk broke the connection: %v", refused.Err)
	}
	wantProblem(t, refused.Status, refused.Body, usher.CodeQueueUnavailable)
	for i := range 3 {
		ev := newEvent(fmt.Sprintf("msg_disk_full_%d", i), fmt.Sprintf("ord_disk_full_%d", i), show, 1)
		if r := snd.send(context.Background(), c.url, ev); r.accepted() {
			t.Errorf("on a full disk: got %s, want 503", r)
			accepted[ev.ID] = ev
		}
	}
	c.stop()
	if log := c.log(); !saysDiskFull(log) {
		t.Errorf("no log line says that the disk or the stream is full; the log:\n%s", log)
	}
	if s := readStore(t, dir); s.integrity != "ok" {
		t.Errorf("store after the disk filled: integrity_check %q, want ok", s.integrity)
	}

	resizeTmpfs(t, dir, "64m")
	c = startChild(t, dir)
	for _, ev := range accepted {
		waitOrder(t, client, c.url, ev.OrderID)
	}
	after := newEvent("msg_disk_after", "ord_disk_after", show, 1)
	resendUntilAccepted(t, snd, c.url, []event{after})
	waitOrder(t, client, c.url, after.OrderID)
	accepted[after.ID] = after
	c.stop()
	checkExactlyOnce(t, readStore(t, dir), accepted, map[string]bool{show: true})
}

// saysDiskFull reports whether an operator reading the log learns that the
// disk, or the queue's storage cap, is what refuses webhooks.
func saysDiskFull(log string) bool {
	for _, line := range strings.Split(log, "\n") {
		l := strings.ToLower(line)
		if !strings.Contains(l, `"level":"error"`) && !strings.Contains(l, `"level":"warn"`) {
			continue
		}
		for _, clue := range []string{"no space left", "disk full", "out of resources", "maximum bytes exceeded", "insufficient resources", "storage full", "stream full"} {
			if strings.Contains(l, clue) {
				return true
			}
		}
	}
	return false
}
