package clustertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// moduleRoot returns the directory of usher's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// NATSServerVersion is the nats-server version go.mod requires.
func NATSServerVersion(ctx context.Context) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Version}}", "github.com/nats-io/nats-server/v2")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list nats-server: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// BuildNATSServer builds nats-server at the version in go.mod into cacheDir
// (default: the user cache directory) and returns its path; a binary already
// built for that version is reused, so repeated runs are fast.
func BuildNATSServer(ctx context.Context, cacheDir string) (string, error) {
	version, err := NATSServerVersion(ctx)
	if err != nil {
		return "", err
	}
	if cacheDir == "" {
		if cacheDir, err = os.UserCacheDir(); err != nil {
			cacheDir = os.TempDir()
		}
		cacheDir = filepath.Join(cacheDir, "usher-clustertest")
	}
	bin := filepath.Join(cacheDir, "nats-server-"+version)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	if err := goBuild(ctx, tmp, "github.com/nats-io/nats-server/v2"); err != nil {
		return "", err
	}
	return bin, os.Rename(tmp, bin) // atomic: a concurrent run sees a whole binary or none
}

// BuildUsher builds cmd/usher into dir and returns its path.
func BuildUsher(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "usher")
	return bin, goBuild(ctx, bin, "github.com/usherhq/usher/cmd/usher")
}

func goBuild(ctx context.Context, out, pkg string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}
