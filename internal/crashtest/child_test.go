package crashtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/webhook"
)

// usherBin is the usher binary built once by TestMain for every test.
var usherBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "usher-crashtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	usherBin = filepath.Join(dir, "usher")
	build := exec.Command("go", "build", "-o", usherBin, "github.com/usherhq/usher/cmd/usher")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "crashtest: build usher:", err)
		return 1
	}
	return m.Run()
}

// adminToken is the bootstrap admin token of every child.
const adminToken = "crashtest-admin-token-0123456789"

// child is one usher serve process.
type child struct {
	t       *testing.T
	dataDir string
	url     string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	exitErr error
}

// startChild runs `usher serve` on dataDir with the extra flags and returns
// once it listens. The process is killed when the test ends, if still alive.
// Its log goes to a file outside dataDir, printed when the test fails.
func startChild(t *testing.T, dataDir string, extra ...string) *child {
	t.Helper()
	logFile, err := os.CreateTemp(t.TempDir(), "usher-*.log")
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir,
		"--admin-token", adminToken, "--partitions", "4", "--log-level", "info"}, extra...)
	cmd := exec.Command(usherBin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	cmd.Stderr = logFile
	// The child dies with the test binary, so a failing run leaves no orphan.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start usher: %v", err)
	}
	c := &child{t: t, dataDir: dataDir, cmd: cmd, logPath: logFile.Name(), exited: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			// "usher is listening on http://127.0.0.1:PORT (data in DIR)"
			if rest, ok := strings.CutPrefix(sc.Text(), "usher is listening on "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		c.exitErr = cmd.Wait()
		_ = logFile.Close()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.kill()
		if t.Failed() {
			c.dumpLog()
		}
	})
	select {
	case c.url = <-urls:
	case <-c.exited:
		c.dumpLog()
		t.Fatalf("usher exited before listening: %v", c.exitErr)
	case <-time.After(60 * time.Second):
		c.dumpLog()
		t.Fatal("usher did not listen within 60s")
	}
	return c
}

// kill sends SIGKILL and waits for the process to end.
func (c *child) kill() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// stop sends SIGTERM and waits for the graceful drain to end.
func (c *child) stop() {
	c.t.Helper()
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		if c.exitErr != nil {
			c.t.Errorf("usher ended with %v after SIGTERM", c.exitErr)
		}
	case <-time.After(60 * time.Second):
		c.t.Error("usher did not stop within 60s of SIGTERM; killing it")
		c.kill()
	}
}

// log returns the child's log so far.
func (c *child) log() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

func (c *child) dumpLog() {
	l := c.log()
	if len(l) > 8000 {
		l = "…" + l[len(l)-8000:]
	}
	c.t.Logf("usher log (%s):\n%s", c.logPath, l)
}

// credentials reads the demo source's name and signing key written on first start.
func credentials(t *testing.T, dataDir string) (source string, key webhook.Secret) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dataDir, server.CredentialsFile))
	if err != nil {
		t.Fatalf("credentials: %v", err)
	}
	var c server.Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("credentials: %v", err)
	}
	k, err := webhook.DecodeSecret(c.Secret)
	if err != nil {
		t.Fatalf("credentials secret: %v", err)
	}
	return c.Source, webhook.Secret{ID: "crashtest", Key: k}
}

// admin calls the child's admin API and decodes a 2xx JSON answer into out.
func admin(ctx context.Context, client *http.Client, baseURL, method, path string, body io.Reader, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, baseURL+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", raw, err)
		}
	}
	return resp.StatusCode, nil
}

// putCapacity sets a show's capacity of ticket type GA.
func putCapacity(t *testing.T, client *http.Client, baseURL, show string, capacity int) {
	t.Helper()
	status, err := admin(context.Background(), client, baseURL, http.MethodPut, "/v1/shows/"+show+"/inventory/GA",
		strings.NewReader(fmt.Sprintf(`{"capacity":%d}`, capacity)), nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("put capacity of %s: got %d, %v; want 200", show, status, err)
	}
}

// newClient returns an HTTP client for one test; each test has its own so
// that a killed child's broken connections stay in that test.
func newClient() *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
	}
}

// onceErr collects the first of many concurrent errors.
type onceErr struct {
	mu  sync.Mutex
	err error
}

func (o *onceErr) set(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		o.err = err
	}
}

func (o *onceErr) get() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}
