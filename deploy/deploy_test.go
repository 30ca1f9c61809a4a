package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/usherhq/usher/internal/clustertest"
)

type composeService struct {
	Image       string                                `yaml:"image"`
	Build       *struct{ Context, Dockerfile string } `yaml:"build"`
	Command     []string                              `yaml:"command"`
	Environment map[string]string                     `yaml:"environment"`
	Volumes     []string                              `yaml:"volumes"`
}

func readCompose(t *testing.T) map[string]composeService {
	t.Helper()
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c.Services
}

// TestComposeRunsTheR3ClusterPostgresUsherAndPrometheus: the compose file
// names every service, builds usher from the Dockerfile, points every usher
// at all three NATS nodes with three replicas, and mounts files that exist.
func TestComposeRunsTheR3ClusterPostgresUsherAndPrometheus(t *testing.T) {
	services := readCompose(t)
	want := []string{"nats1", "nats2", "nats3", "postgres", "ingest1", "ingest2", "process1", "process2", "prometheus"}
	for _, name := range want {
		if _, ok := services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	roles := map[string]string{"ingest1": "ingest", "ingest2": "ingest", "process1": "process", "process2": "process"}
	for name, role := range roles {
		s := services[name]
		if s.Build == nil || filepath.Join(s.Build.Context, s.Build.Dockerfile) != "../Dockerfile" {
			t.Errorf("%s: build %+v, want ../Dockerfile", name, s.Build)
		}
		env := s.Environment
		if env["USHER_ROLES"] != role || env["USHER_REPLICAS"] != "3" || env["USHER_PRODUCTION"] != "true" {
			t.Errorf("%s: roles %q replicas %q production %q; want %s, 3, true", name, env["USHER_ROLES"], env["USHER_REPLICAS"], env["USHER_PRODUCTION"], role)
		}
		for _, node := range []string{"@nats1:4222", "@nats2:4222", "@nats3:4222"} {
			if !strings.Contains(env["USHER_NATS_URL"], node) {
				t.Errorf("%s: USHER_NATS_URL %q does not name %s", name, env["USHER_NATS_URL"], node)
			}
		}
		if !strings.HasPrefix(env["USHER_POSTGRES_URL"], "postgres://") {
			t.Errorf("%s: USHER_POSTGRES_URL %q", name, env["USHER_POSTGRES_URL"])
		}
	}
	for name, s := range services {
		for _, v := range s.Volumes {
			if src, _, _ := strings.Cut(v, ":"); strings.HasPrefix(src, "./") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			}
		}
	}
}

// TestDockerfileBuildsAStaticBinaryRunAsNonRoot reads the Dockerfile's
// stages: a Go builder at go.mod's Go version with cgo off, and a final
// static distroless image that runs as a non-root user.
func TestDockerfileBuildsAStaticBinaryRunAsNonRoot(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	var froms, users []string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 1 && f[0] == "FROM":
			froms = append(froms, strings.Join(f[1:], " "))
		case len(f) > 1 && f[0] == "USER":
			users = append(users, f[1])
		}
	}
	if len(froms) != 2 || !strings.HasPrefix(froms[0], "golang:"+string(goVersion[1])) || !strings.HasSuffix(froms[0], " AS build") {
		t.Errorf("stages %q: want a golang:%s builder named build, then the runtime image", froms, goVersion[1])
	}
	if len(froms) == 2 && !strings.Contains(froms[1], "distroless/static") {
		t.Errorf("runtime image %q: want a static distroless image", froms[1])
	}
	if len(users) != 1 || users[0] == "root" || strings.HasPrefix(users[0], "0") {
		t.Errorf("USER %q: want one non-root user in the runtime stage", users)
	}
	for _, want := range []string{"CGO_ENABLED=0", "COPY --from=build", `ENTRYPOINT ["/usr/local/bin/usher"]`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("Dockerfile does not contain %q", want)
		}
	}
}

// TestNATSClusterConfigsAreValid runs the nats-server of go.mod's version
// with -t on each node's configuration: it parses, fsyncs before every
// acknowledgement and names a distinct server.
func TestNATSClusterConfigsAreValid(t *testing.T) {
	bin, err := clustertest.BuildNATSServer(context.Background(), os.Getenv("USHER_CLUSTER_CACHE"))
	if err != nil {
		t.Fatal(err)
	}
	confs, _ := filepath.Glob("nats/*.conf")
	if len(confs) != 3 {
		t.Fatalf("configurations %v, want three nodes", confs)
	}
	var names []string
	for _, conf := range confs {
		cmd := exec.Command(bin, "-t", "-c", conf)
		cmd.Env = append(os.Environ(), "USHER_NATS_PASSWORD=x", "NATS_SYS_PASSWORD=y")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("nats-server -t -c %s: %v\n%s", conf, err, out)
		}
		raw, _ := os.ReadFile(conf)
		if !regexp.MustCompile(`(?m)^\s*sync_interval:\s*always\s*$`).Match(raw) {
			t.Errorf("%s: no sync_interval: always", conf)
		}
		if m := regexp.MustCompile(`(?m)^server_name:\s*(\S+)`).FindSubmatch(raw); m != nil {
			names = append(names, string(m[1]))
		}
	}
	slices.Sort(names)
	if len(slices.Compact(names)) != 3 {
		t.Errorf("server names %v: want three distinct", names)
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit, with the
// binary path pointed at an executable that exists here.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("systemd-analyze is required in CI: %v", err)
		}
		t.Skip("systemd-analyze not installed")
	}
	raw, err := os.ReadFile("systemd/usher.service")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "usher.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(raw), "/usr/local/bin/usher", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
