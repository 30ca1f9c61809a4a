package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Usher is one `usher serve` process with its own data directory.
type Usher struct {
	Name    string
	DataDir string
	// URL is the base URL it listens on: fixed, so that readers may use it
	// while the process restarts.
	URL  string
	addr string
	bin  string
	args []string
	proc *Proc
}

// NewUsher prepares a process named name running `usher serve` with args,
// in dataDir, listening on addr (a fixed port keeps its URL across
// restarts); Start runs it.
func NewUsher(bin, name, addr, dataDir string, args ...string) *Usher {
	return &Usher{Name: name, DataDir: dataDir, URL: "http://" + addr, addr: addr, bin: bin, args: args}
}

// Start runs the process and waits until it listens.
func (u *Usher) Start() error {
	if err := os.MkdirAll(u.DataDir, 0o700); err != nil {
		return err
	}
	urls := make(chan string, 1)
	lines := &lineWriter{fn: func(line string) {
		// "usher is listening on http://127.0.0.1:PORT (data in DIR)"
		if rest, ok := strings.CutPrefix(line, "usher is listening on "); ok {
			select {
			case urls <- strings.Fields(rest)[0]:
			default:
			}
		}
	}}
	args := append([]string{"serve", "--addr", u.addr, "--data-dir", u.DataDir}, u.args...)
	cmd := exec.Command(u.bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	p, err := startProc("usher "+u.Name, filepath.Join(u.DataDir, "usher.log"), cmd, lines)
	if err != nil {
		return err
	}
	u.proc = p
	select {
	case got := <-urls:
		if got != u.URL {
			p.Kill()
			return fmt.Errorf("usher %s listens on %s, want %s", u.Name, got, u.URL)
		}
		return nil
	case <-p.Exited():
		return fmt.Errorf("usher %s exited before listening: %v\n%s", u.Name, p.err, p.Log(4000))
	case <-time.After(60 * time.Second):
		p.Kill()
		return fmt.Errorf("usher %s did not listen within 60s\n%s", u.Name, p.Log(4000))
	}
}

// Kill ends the process with SIGKILL.
func (u *Usher) Kill() {
	if u.proc != nil {
		u.proc.Kill()
	}
}

// Stop sends SIGTERM and waits for the graceful drain.
func (u *Usher) Stop() error {
	if u.proc == nil {
		return nil
	}
	return u.proc.Stop(syscall.SIGTERM, 60*time.Second)
}

// Log returns the tail of the process's log.
func (u *Usher) Log() string {
	if u.proc == nil {
		return ""
	}
	return u.proc.Log(6000)
}
