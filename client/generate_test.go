package client_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestGeneratedClientIsFresh regenerates the client from api/openapi.yaml
// into a temporary directory with the pinned ogen (go tool ogen) and fails
// when any checked-in generated file differs, is missing or is left over:
// run `go generate ./client` after changing the document.
func TestGeneratedClientIsFresh(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	cmd := exec.Command("go", "tool", "ogen", "-config", "ogen.yml", "-package", "client", "-target", out, "-clean", "../api/openapi.yaml")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Run(); err != nil {
		t.Fatalf("go tool ogen: %v\n%s", err, logs.String())
	}
	fresh, stale := generated(t, out), generated(t, ".")
	if !slices.Equal(names(fresh), names(stale)) {
		t.Fatalf("generated files: checked in %v, ogen writes %v; run go generate ./client", names(stale), names(fresh))
	}
	for name, want := range fresh {
		if !bytes.Equal(stale[name], want) {
			t.Errorf("client/%s is not what ogen generates from api/openapi.yaml; run go generate ./client", name)
		}
	}
}

// generated reads the ogen files (oas_*_gen.go) of dir.
func generated(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "oas_") || !strings.HasSuffix(e.Name(), "_gen.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func names(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
