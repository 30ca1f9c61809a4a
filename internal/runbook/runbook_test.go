package runbook_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/usherhq/usher/internal/runbook"
)

func TestParse(t *testing.T) {
	t.Parallel()
	md := "# x\n```sh\nusher dlq list\n```\ntext\n```sh norun\n# production only\nrm -rf /\n```\n```yaml\na: 1\n```\n```\nplain\n```\n"
	blocks, err := runbook.Parse(strings.NewReader(md))
	if err != nil || len(blocks) != 2 {
		t.Fatalf("Parse = %+v, %v; want 2 sh blocks", blocks, err)
	}
	if !blocks[0].Run || blocks[0].Code != "usher dlq list\n" || blocks[0].Line != 2 {
		t.Errorf("first block %+v", blocks[0])
	}
	if blocks[1].Run || blocks[1].Why != "production only" {
		t.Errorf("norun block %+v", blocks[1])
	}
	if env := runbook.RehearsalEnv("# x\n<!-- rehearsal-env: A=1 B=two -->\ntext\n <!-- rehearsal-env: C=3 -->\n<!-- other -->\n"); strings.Join(env, " ") != "A=1 B=two C=3" {
		t.Errorf("RehearsalEnv = %q, want A=1 B=two C=3", env)
	}
	for _, bad := range []string{"```sh\nopen\n", "```sh norun\nrm -rf /\n```\n"} {
		if _, err := runbook.Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		}
	}
}

// root is the module's directory.
func root(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// build compiles ./cmd/usher into a temporary directory and returns it.
func build(t *testing.T, repo string) string {
	t.Helper()
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(bin, "usher"), "./cmd/usher")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/usher: %v\n%s", err, out)
	}
	return bin
}

// live is a usher serve on its embedded default: its own data directory,
// embedded NATS and SQLite, a port on 127.0.0.1, run by a supervisor that
// the blocks drive with systemctl.
type live struct {
	url, token, dataDir string
	env                 []string
}

func serve(t *testing.T, bin string, extraEnv []string) live {
	t.Helper()
	var b [16]byte
	_, _ = rand.Read(b[:])
	l := live{token: "rb_" + hex.EncodeToString(b[:]), dataDir: filepath.Join(t.TempDir(), "usher-data")}
	sup := &supervisor{t: t, bin: bin, addr: freeAddr(t)}
	l.url = "http://" + sup.addr
	shims := t.TempDir()
	shim, err := os.ReadFile(filepath.Join("testdata", "systemctl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shims, "systemctl"), shim, 0o755); err != nil {
		t.Fatal(err)
	}
	l.env = append(os.Environ(), "USHER_ADMIN_TOKEN="+l.token, "USHER_DATA_DIR="+l.dataDir,
		"USHER_ALLOW_PRIVATE_DESTINATIONS=true", "USHER_DELIVERY_POLL_INTERVAL=100ms", "USHER_URL="+l.url,
		"PATH="+shims+string(os.PathListSeparator)+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	l.env = append(l.env, extraEnv...)
	sup.env = l.env
	l.env = append(l.env, "USHER_SUPERVISOR="+sup.serveHTTP())
	if err := sup.start(); err != nil {
		t.Fatalf("usher serve: %v", err)
	}
	t.Cleanup(func() {
		if err := sup.stop(); err != nil {
			t.Error(err)
		}
	})
	return l
}

type logWriter struct{ t *testing.T }

func (w *logWriter) Write(p []byte) (int, error) {
	w.t.Logf("usher: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// endpoint is the rehearsal's subscriber: it answers 400 until a block
// deploys the fix with POST /deploy-fix, and 200 after.
func endpoint(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var fixed atomic.Bool
	var delivered atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/deploy-fix":
			fixed.Store(true)
		case !fixed.Load() && strings.HasPrefix(r.URL.Path, "/gone"):
			w.WriteHeader(http.StatusGone)
		case !fixed.Load():
			w.WriteHeader(http.StatusBadRequest)
		default:
			delivered.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &delivered
}

// TestRunbooks runs every runnable shell block of every runbook, in order,
// against a fresh usher serve of the binary built from this tree.
func TestRunbooks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds usher and runs every runbook")
	}
	repo := root(t)
	files, err := filepath.Glob(filepath.Join(repo, "docs", "runbooks", "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no runbooks: %v", err)
	}
	bin := build(t, repo)
	for _, f := range files {
		if filepath.Base(f) == "README.md" { // the index
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) { runFile(t, repo, bin, f) })
	}
}

func runFile(t *testing.T, repo, bin, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := runbook.Parse(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ran := 0
	srv, _ := endpoint(t)
	env := append([]string{"USHER_REHEARSAL_ENDPOINT=" + srv.URL, "USHER_REPO=" + repo}, runbook.RehearsalEnv(string(raw))...)
	l := serve(t, bin, env)
	work := t.TempDir()
	for _, b := range blocks {
		if !b.Run {
			t.Logf("line %d not run: %s", b.Line, b.Why)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", b.Code)
		cmd.Dir, cmd.Env = work, l.env
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s, block at line %d failed: %v\n--- block\n%s--- output\n%s", filepath.Base(path), b.Line, err, b.Code, out)
		}
		t.Logf("block at line %d:\n%s", b.Line, lastLines(out, 8))
		ran++
	}
	if ran == 0 {
		t.Fatalf("%s has no runnable block", filepath.Base(path))
	}
	t.Logf("%s: %d blocks run, %d shown only", filepath.Base(path), ran, len(blocks)-ran)
}

// TestAlertRulesHaveRunbooks: every alert rule in deploy/prometheus names
// (annotation runbook_url) a runbook that exists and mentions the alert by name; promtool, when
// installed (always in CI), checks the rules.
func TestAlertRulesHaveRunbooks(t *testing.T) {
	t.Parallel()
	repo := root(t)
	files, _ := filepath.Glob(filepath.Join(repo, "deploy", "prometheus", "*.yml"))
	rules := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Groups []struct {
				Rules []struct {
					Alert       string            `yaml:"alert"`
					Annotations map[string]string `yaml:"annotations"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range doc.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue // a recording rule
				}
				rules++
				checkRunbook(t, repo, r.Alert, r.Annotations["runbook_url"])
			}
		}
		if len(doc.Groups) > 0 {
			promtool(t, f)
		}
	}
	if rules == 0 {
		t.Fatal("no alert rule found in deploy/prometheus")
	}
}

// runbookPath is the repository path a runbook_url ends in: the URL is
// docs/runbooks/<name>.md under the operator's runbook_base.
var runbookPath = regexp.MustCompile(`(docs/runbooks/[a-z0-9-]+\.md)$`)

func checkRunbook(t *testing.T, repo, alert, url string) {
	t.Helper()
	m := runbookPath.FindStringSubmatch(url)
	if m == nil {
		t.Errorf("alert %s: runbook_url annotation %q, want …/docs/runbooks/<name>.md", alert, url)
		return
	}
	path := m[1]
	body, err := os.ReadFile(filepath.Join(repo, path))
	if err != nil {
		t.Errorf("alert %s: runbook %s: %v", alert, path, err)
		return
	}
	if !strings.Contains(string(body), alert) {
		t.Errorf("alert %s: its runbook %s does not name it", alert, path)
	}
}

func promtool(t *testing.T, file string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool is required in CI: %v", err)
		}
		t.Logf("promtool not installed: %s not checked", file)
		return
	}
	if out, err := exec.Command(bin, "check", "rules", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules %s: %v\n%s", file, err, out)
	}
}

// lastLines returns the last n lines of a block's output, for the log.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
