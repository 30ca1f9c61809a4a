package events_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/events"
)

// notEventTypes are dotted names in the code that are not event types:
// audit actions, which name what an operator or a lane did.
var notEventTypes = map[string]string{
	"inventory.capacity_set":      "audit action (internal/admin)",
	"subscription.created":        "audit action (internal/delivery)",
	"subscription.updated":        "audit action (internal/delivery)",
	"subscription.deleted":        "audit action (internal/delivery)",
	"subscription.paused":         "audit action (internal/delivery)",
	"subscription.resumed":        "audit action (internal/delivery)",
	"subscription.secret_rotated": "audit action (internal/delivery)",
	"subscription.replayed":       "audit action (internal/delivery)",
}

// exempt holds the one literal that shares an event type's name on purpose.
var exempt = map[string]string{
	"internal/delivery/audit.go subscription.disabled": "audit action named after its operator event",
}

// dotted matches the names usher's event families use.
var dotted = regexp.MustCompile(`^(order|ticket|inventory|scan|subscription)\.[a-z_]+$`)

// gateFile is where the names of the gate contracts are spelled out.
var gateFile = filepath.Join("internal", "events", "gate.go")

// TestNoEventTypeLiteralOutsideTheCatalog walks every non-test Go file of
// the module: an event type is spelled out only in the root package's
// event.go (the constants the catalog lists), a gate contract's name only in
// internal/events/gate.go; any other dotted name of an event family must be
// a catalogued type or a known audit action.
func TestNoEventTypeLiteralOutsideTheCatalog(t *testing.T) {
	t.Parallel()
	c := load(t)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || rel == filepath.Join("internal", "store", "storetest")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || rel == "event.go" {
			return nil
		}
		for _, lit := range literals(t, p) {
			catalogued := has(c, events.Inbound, lit.value) || has(c, events.Outbound, lit.value)
			gate := has(c, events.Gate, lit.value)
			switch {
			case exempt[filepath.ToSlash(rel)+" "+lit.value] != "":
			case gate && rel == gateFile && !catalogued:
			case gate:
				t.Errorf("%s:%d: gate contract %q spelled out; use its events.Gate constant", rel, lit.line, lit.value)
			case catalogued:
				t.Errorf("%s:%d: event type %q spelled out; use its usher.Type constant", rel, lit.line, lit.value)
			case dotted.MatchString(lit.value) && notEventTypes[lit.value] == "":
				t.Errorf("%s:%d: %q looks like an event type the catalog lacks", rel, lit.line, lit.value)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type literal struct {
	value string
	line  int
}

func literals(t *testing.T, path string) []literal {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []literal
	ast.Inspect(f, func(n ast.Node) bool {
		if bl, ok := n.(*ast.BasicLit); ok && bl.Kind == token.STRING {
			if v, err := strconv.Unquote(bl.Value); err == nil {
				out = append(out, literal{v, fset.Position(bl.Pos()).Line})
			}
		}
		return true
	})
	return out
}
