package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// quickStart returns the shell lines between the README's quickstart
// markers, without the go install line (the test builds usher itself).
func quickStart(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	begin, end := strings.Index(s, "<!-- quickstart:begin -->"), strings.Index(s, "<!-- quickstart:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md has no quickstart markers")
	}
	block := s[begin:end]
	block = block[strings.Index(block, "```sh\n")+6 : strings.LastIndex(block, "```")]
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if !strings.HasPrefix(l, "go install ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// TestReadmeQuickStart runs the README's quick start verbatim in a fresh
// directory with the usher it builds first on the PATH. Only the address
// changes: 127.0.0.1:8080 becomes a free port (USHER_ADDR and USHER_URL
// say so to usher), so that the test may run beside others.
func TestReadmeQuickStart(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the quick start needs curl")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "usher"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	script := "set -euo pipefail\n" + strings.ReplaceAll(quickStart(t), "127.0.0.1:8080", addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + cmd.Dir, "USHER_ADDR=" + addr, "USHER_URL=http://" + addr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A file, not a pipe: the backgrounded usher serve keeps its output
	// open after the script ends.
	outFile, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	err = cmd.Run()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the backgrounded usher serve
	// Its shutdown still writes into the data directory: wait for it to
	// exit before the test's cleanup removes the directory (the removal
	// failed with "directory not empty" when it raced the queue's last
	// writes).
	waitGroupGone(t, cmd.Process.Pid, time.Minute)
	out, _ := os.ReadFile(outFile.Name())
	if err != nil {
		t.Fatalf("the quick start failed: %v\n%s", err, out)
	}
	for _, want := range []string{"202 Accepted", `"order_id":"ord_`, "first-start admin token"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the quick start's output lacks %q:\n%s", want, out)
		}
	}
}

// waitGroupGone waits until no process of the process group pgid is left.
func waitGroupGone(t *testing.T, pgid int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			t.Errorf("the quick start's usher serve was still running %s after SIGTERM", limit)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
