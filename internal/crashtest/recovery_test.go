package crashtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
)

// TestDiskFullRecoversWithoutRestart fills the disk under a running usher
// until the stream's store fails a write (not its size cap: the disk is
// taken by another file after usher sized its queue). Webhooks must then get
// 503 at once, with Retry-After, instead of each waiting out the publish
// timeout, and /readyz must say the queue cannot store. Once the disk has
// room again, the same process must accept webhooks again and be ready,
// and every acknowledged webhook must be applied exactly once.
func TestDiskFullRecoversWithoutRestart(t *testing.T) {
	t.Parallel()
	const show = "recover-show"
	dir := mountTmpfs(t, "16m")
	client := newClient()
	c := startChild(t, dir)
	putCapacity(t, client, c.url, show, 1_000_000)
	source, key := credentials(t, dir)
	snd := newSender(client, source, key)

	fillDisk(t, filepath.Join(dir, "filler"), 256<<10)
	accepted, refused := sendUntilRefused(t, snd, c.url, show, "msg_rec_%05d", "ord_rec_%05d", 20000,
		"20000 webhooks of 1 KiB accepted on a full disk")
	t.Logf("the full disk took %d more webhooks, then usher answered %s", len(accepted), refused)
	wantProblem(t, refused.Status, refused.Body, usher.CodeQueueUnavailable)

	// The queue is known broken now: every refusal is immediate. The bound
	// is the publish timeout (5 s) that each refusal waited out before; it
	// guards against that wait, it does not measure speed.
	for i := range 10 {
		ev := newEvent(fmt.Sprintf("msg_rec_full_%d", i), fmt.Sprintf("ord_rec_full_%d", i), show, 1)
		began := time.Now()
		r := snd.send(context.Background(), c.url, ev)
		took := time.Since(began)
		if r.accepted() {
			accepted[ev.ID] = ev // the disk had a little room left; fine
			continue
		}
		wantProblem(t, r.Status, r.Body, usher.CodeQueueUnavailable)
		if r.RetryAfter == "" {
			t.Errorf("refusal %d on a full disk has no Retry-After", i)
		}
		if took >= 5*time.Second {
			t.Errorf("refusal %d on a full disk took %s: it waited for the broken stream instead of answering at once", i, took.Round(time.Millisecond))
		}
	}
	if status, d := readyz(t, client, c.url); status != http.StatusServiceUnavailable || !strings.Contains(d.Detail, "queue") {
		t.Errorf("/readyz on a full disk: got %d %q, want 503 naming the queue", status, d.Detail)
	}

	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	resizeTmpfs(t, dir, "64m")
	after := newEvent("msg_rec_after", "ord_rec_after", show, 1)
	resendUntilAccepted(t, snd, c.url, []event{after}) // fails the test after 2 minutes
	accepted[after.ID] = after
	select {
	case <-c.exited:
		t.Fatalf("usher exited (%v); it must recover without a restart", c.exitErr)
	default:
	}
	waitReady(t, client, c.url)
	for _, ev := range accepted {
		waitOrder(t, client, c.url, ev.OrderID)
	}
	c.stop()
	checkExactlyOnce(t, readStore(t, dir), accepted, map[string]bool{show: true})
}

// fillDisk writes a file until the disk is full, then gives back leave bytes.
func fillDisk(t *testing.T, path string, leave int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			break
		}
	}
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(max(0, info.Size()-leave)); err != nil {
		t.Fatal(err)
	}
}

// readyz asks /readyz once.
func readyz(t *testing.T, client *http.Client, baseURL string) (int, problem.Details) {
	t.Helper()
	resp, err := client.Get(baseURL + "/readyz")
	if err != nil {
		t.Fatalf("readyz: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var d problem.Details
	if resp.StatusCode != http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, problem.ContentType) {
			t.Errorf("readyz %d with content type %q, want %s", resp.StatusCode, ct, problem.ContentType)
		}
		_ = json.Unmarshal(raw, &d)
	}
	return resp.StatusCode, d
}

// waitReady waits up to 2 minutes for /readyz to answer 200.
func waitReady(t *testing.T, client *http.Client, baseURL string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a guard against a hang, not a timing assertion
	for {
		status, d := readyz(t, client, baseURL)
		if status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 200; last %d %s", status, d.Detail)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
