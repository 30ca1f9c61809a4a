package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/ushertest"
)

// TestCheckFindsADamagedFile writes 16 KiB of junk into the middle of a
// real usher.db holding 200 orders (table data that opening does not read): usher check must run SQLite's full integrity check and
// fail, naming the file, where it used to print OK.
func TestCheckFindsADamagedFile(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	for i := range 200 {
		if status, reply := s.Send(ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid(fmt.Sprintf("ord_dmg_%d", i), 1))); status != 202 {
			t.Fatalf("send: %d %s", status, reply)
		}
	}
	ushertest.Eventually(t, 20*time.Second, "orders applied", func() bool {
		n, err := s.Queue().Pending(t.Context())
		return err == nil && n == 0
	})
	s.Stop()
	path := filepath.Join(s.Config.DataDir, "usher.db")
	info, err := os.Stat(path)
	if err != nil || info.Size() < 64<<10 {
		t.Fatalf("usher.db: %v, %d bytes; want a file of at least 64 KiB", err, info.Size())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte("usher-junk-"), (16<<10)/11+1)[:16<<10]
	if _, err := f.WriteAt(junk, info.Size()/2/4096*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := runCLI(t, "check", "--data-dir", s.Config.DataDir)
	t.Logf("usher check said: %v\n%s", err, out)
	if err == nil || strings.Contains(out, "OK:") || !strings.Contains(out, "integrity_check") || !strings.Contains(out, path) {
		t.Fatalf("check on a damaged usher.db: got %v\n%s\nwant a failure naming %s and integrity_check, and no OK", err, out, path)
	}
}

// TestServeHelpGivesThePartitionDefaults: the help must state the default
// that applies, 2 partitions with the embedded NATS (8 with an external one).
func TestServeHelpGivesThePartitionDefaults(t *testing.T) {
	t.Parallel()
	out, _ := runCLI(t, "serve", "--help")
	if !strings.Contains(out, "default 2 with the embedded NATS, 8 with an external one") {
		t.Errorf("serve --help does not give the partition defaults:\n%s", out)
	}
}
