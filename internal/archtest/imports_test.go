package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/usherhq/usher"

// edges are the packages at the edges of the program: the receiver, the
// outbound lanes, the gate API, the passes, the personal-data vault, the
// audit API and the console. They speak the root package's vocabulary and
// their own consumer-side interfaces; the wiring (internal/server) binds the
// store to those. A listed package that does not exist (yet) is skipped.
var edges = []string{
	"internal/ingest",
	"internal/delivery",
	"internal/scanner",
	"internal/passes",
	"internal/pii",
	"internal/audit",
	"internal/console",
	"internal/incident",
}

// rules name what no edge may depend on, directly or through another
// package. known lists the edges still allowed the dependency for now: no
// rule reports it for them, nor looks past it (so the admin package's own
// store import is not held against them either).
var rules = []struct {
	forbidden string
	why       string
	known     []string
}{
	{forbidden: "internal/store", why: "edges depend on interfaces and root types, never on the store"},
	{
		forbidden: "internal/admin",
		why:       "edges take scopes and principals from the auth package, not from the admin API",
	},
}

// pkg is one package as go list describes it; Imports leaves out the
// imports of its tests, which may use a real store.
type pkg struct {
	ImportPath string
	Imports    []string
}

// graph returns every package of the module by import path.
func graph(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	g := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		g[p.ImportPath] = p
	}
	if len(g) == 0 {
		t.Fatal("go list found no package")
	}
	return g
}

// within reports whether path is the package rel of the module or one of
// its subpackages.
func within(path, rel string) bool {
	full := module + "/" + rel
	return path == full || strings.HasPrefix(path, full+"/")
}

// chain returns the import chain from start to a package within forbidden,
// not looking past a package within one of skip, or nil when there is none.
func chain(g map[string]pkg, start, forbidden string, skip []string) []string {
	seen := map[string]bool{start: true}
	var walk func(path []string) []string
	walk = func(path []string) []string {
		for _, imp := range g[path[len(path)-1]].Imports {
			if seen[imp] || !strings.HasPrefix(imp, module) {
				continue
			}
			seen[imp] = true
			if slices.ContainsFunc(skip, func(s string) bool { return within(imp, s) }) {
				continue
			}
			next := append(slices.Clone(path), imp)
			if within(imp, forbidden) {
				return next
			}
			if found := walk(next); found != nil {
				return found
			}
		}
		return nil
	}
	return walk([]string{start})
}

func TestEdgesDependOnNeitherStoreNorAdmin(t *testing.T) {
	g := graph(t)
	checked := 0
	for _, edge := range edges {
		var skip []string // what edge may still depend on
		for _, rule := range rules {
			if slices.Contains(rule.known, edge) {
				skip = append(skip, rule.forbidden)
			}
		}
		for _, rule := range rules {
			for path := range g {
				if !within(path, edge) {
					continue
				}
				checked++
				if c := chain(g, path, rule.forbidden, skip); c != nil {
					t.Errorf("%s depends on %s (%s): %s", path, module+"/"+rule.forbidden, rule.why,
						strings.Join(c, " -> "))
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no edge package found: the edges list is stale")
	}
}

// TestKnownAdminImportersStillImportIt keeps the known list honest: an edge
// that no longer needs the admin package must leave the list, so that the
// rule guards it from then on.
func TestKnownAdminImportersStillImportIt(t *testing.T) {
	g := graph(t)
	for _, rule := range rules {
		for _, edge := range rule.known {
			p, ok := g[module+"/"+edge]
			if !ok {
				t.Errorf("known %s importer %s does not exist: remove it from the list", rule.forbidden, edge)
				continue
			}
			if c := chain(g, p.ImportPath, rule.forbidden, nil); c == nil {
				t.Errorf("%s no longer depends on %s: remove it from the known list", edge, rule.forbidden)
			}
		}
	}
}
