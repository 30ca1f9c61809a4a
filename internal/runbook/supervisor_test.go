package runbook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// supervisor plays systemd for the rehearsal's usher: it owns one
// `usher serve` process on a fixed address and data directory, and the
// runbook blocks drive it through the systemctl on their PATH
// (testdata/systemctl), so a block can stop, restart or reconfigure the
// very usher it acts on. Like systemd, it stops usher with SIGTERM and
// kills it after the stop timeout; the process dies with the test
// (Pdeathsig), even if the test itself is killed.
type supervisor struct {
	t    *testing.T
	bin  string   // the usher binary
	addr string   // the listen address, the same at every start
	env  []string // the unit's environment

	mu    sync.Mutex
	extra []string  // set-environment, in order
	cmd   *exec.Cmd // nil when stopped
	exit  chan struct{}
}

// errInactive answers is-active for a stopped usher: the shim exits
// non-zero, as systemctl does.
var errInactive = errors.New("inactive")

// stopTimeout is TimeoutStopSec of deploy/systemd/usher.service.
const stopTimeout = 45 * time.Second

// freeAddr returns a loopback address with a port that was free just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveHTTP starts the control endpoint the systemctl shim posts to and
// returns its URL.
func (s *supervisor) serveHTTP() string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		args := strings.Fields(string(body))
		out, err := s.systemctl(args)
		switch {
		case errors.Is(err, errInactive):
			http.Error(w, "inactive", http.StatusServiceUnavailable)
		case err != nil:
			http.Error(w, "systemctl "+strings.Join(args, " ")+": "+err.Error(), http.StatusConflict)
		default:
			fmt.Fprint(w, out)
		}
	}))
	s.t.Cleanup(srv.Close)
	return srv.URL
}

// systemctl runs one systemctl command line of a block.
func (s *supervisor) systemctl(args []string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("no command")
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "set-environment":
		s.mu.Lock()
		defer s.mu.Unlock()
		s.extra = append(s.extra, rest...)
		return "", nil
	case "unset-environment":
		s.mu.Lock()
		defer s.mu.Unlock()
		s.extra = slices.DeleteFunc(s.extra, func(kv string) bool {
			name, _, _ := strings.Cut(kv, "=")
			return slices.Contains(rest, name)
		})
		return "", nil
	}
	if len(rest) != 1 || rest[0] != "usher" {
		return "", fmt.Errorf("the rehearsal knows one unit, usher; got %q", rest)
	}
	switch verb {
	case "start":
		return "", s.start()
	case "stop":
		return "", s.stop()
	case "restart":
		if err := s.stop(); err != nil {
			return "", err
		}
		return "", s.start()
	case "is-active":
		if s.running() {
			return "active\n", nil
		}
		return "", errInactive
	}
	return "", fmt.Errorf("%s is not supported in the rehearsal", verb)
}

func (s *supervisor) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// start runs usher serve unless it runs, and waits until /readyz answers
// 200 or the process exits.
func (s *supervisor) start() error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return nil
	}
	cmd := exec.Command(filepath.Join(s.bin, "usher"), "serve", "--addr", s.addr)
	cmd.Env = append(slices.Clone(s.env), s.extra...)
	cmd.Stdout, cmd.Stderr = io.Discard, &logWriter{t: s.t}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return err
	}
	exit := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exit) }()
	s.cmd, s.exit = cmd, exit
	s.mu.Unlock()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-exit:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("usher serve exited: %v", cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
		if ready("http://" + s.addr) {
			return nil
		}
	}
	return errors.New("usher serve did not become ready")
}

func ready(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop sends SIGTERM and waits for the exit, killing the process after
// stopTimeout.
func (s *supervisor) stop() error {
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-exit:
		return nil
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-exit
		return fmt.Errorf("usher did not stop within %s and was killed", stopTimeout)
	}
}
