package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
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

// The tests of this file's helpers run the usher binary as an operator
// would: `usher serve` configured by its environment only.

var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// usherBinary builds cmd/usher once per test run.
func usherBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "usher-deploy-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "usher")
		built.out, built.err = exec.Command("go", "build", "-o", built.path, "../cmd/usher").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build ./cmd/usher: %v\n%s", built.err, built.out)
	}
	return built.path
}

// usherProc is one `usher serve` process on 127.0.0.1 with a fresh data
// directory and its first-start credentials.
type usherProc struct {
	t      *testing.T
	URL    string
	Creds  server.Credentials
	secret webhook.Secret
	cmd    *exec.Cmd
	done   chan error
	logs   *lockedBuffer
	stop   sync.Once
}

// lockedBuffer is a bytes.Buffer written by a process and read by a test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startUsher runs `usher serve` on a free port with env (KEY=value) added
// to a clean environment, and waits for its banner.
func startUsher(t *testing.T, env ...string) *usherProc {
	t.Helper()
	dataDir := t.TempDir()
	cmd := exec.Command(usherBinary(t), "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dataDir}, env...)
	p := &usherProc{t: t, cmd: cmd, done: make(chan error, 1), logs: &lockedBuffer{}}
	cmd.Stderr = p.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	banner := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "usher is listening on "); ok {
				banner <- strings.Fields(rest)[0]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(p.Stop)
	select {
	case p.URL = <-banner:
	case err := <-p.done:
		p.stop.Do(func() {})
		t.Fatalf("usher serve ended before listening: %v\n%s", err, p.logs)
	case <-time.After(2 * time.Minute):
		t.Fatalf("usher serve did not start\n%s", p.logs)
	}
	p.readCredentials(filepath.Join(dataDir, server.CredentialsFile))
	return p
}

func (p *usherProc) readCredentials(path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &p.Creds); err != nil {
		p.t.Fatalf("%s: %v", path, err)
	}
	key, err := webhook.DecodeSecret(p.Creds.Secret)
	if err != nil {
		p.t.Fatalf("demo secret: %v", err)
	}
	p.secret = webhook.Secret{ID: "deploy-test", Key: key}
}

// Stop ends usher with SIGTERM, as an init system would, and waits for its
// drain (which flushes the spans still buffered).
func (p *usherProc) Stop() {
	p.stop.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.done:
			if err != nil {
				p.t.Errorf("usher serve: %v\n%s", err, p.logs)
			}
		case <-time.After(time.Minute):
			_ = p.cmd.Process.Kill()
			p.t.Errorf("usher serve did not stop on SIGTERM\n%s", p.logs)
		}
	})
}

// Send signs body as the demo source and posts it with the extra headers;
// it returns the status.
func (p *usherProc) Send(eventID string, body []byte, header http.Header) int {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.URL+"/webhooks/"+p.Creds.Source, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	scheme, _ := webhook.Lookup(p.Creds.Scheme)
	for k, v := range scheme.Sign(eventID, time.Now(), body, p.secret) {
		req.Header[k] = v
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("send: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// Admin calls usher's API with the first-start admin token and decodes the
// JSON answer into out, if not nil; it returns the status.
func (p *usherProc) Admin(method, path string, body, out any) int {
	p.t.Helper()
	raw, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(context.Background(), method, p.URL+path, bytes.NewReader(raw))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.Creds.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// freeAddr returns a 127.0.0.1 address nothing listens on right now, for a
// program that must be told its port before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
