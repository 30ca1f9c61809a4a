package events_test

import (
	"encoding/json"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
)

// load returns the embedded catalog, failing the test if it does not load.
func load(t testing.TB) *events.Catalog {
	t.Helper()
	c, err := events.Load()
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	return c
}

func TestCatalogLoadsEveryTypeAndVersion(t *testing.T) {
	t.Parallel()
	c := load(t)
	for _, d := range events.Defs() {
		e, ok := c.Lookup(d.Direction, d.Type)
		if !ok {
			t.Errorf("%s %s missing from the catalog", d.Direction, d.Type)
			continue
		}
		if len(e.Versions) != len(c.Versions(d.Direction)) || e.Description == "" {
			t.Errorf("%s %s: %d versions, description %q", d.Direction, d.Type, len(e.Versions), e.Description)
		}
	}
	if got := c.CurrentVersion(events.Outbound); got != events.V20261201 {
		t.Errorf("current outbound version = %s, want %s", got, events.V20261201)
	}
}

// TestEveryOrderStatusHasAnOutboundType walks the statuses an order can
// reach: each one's event type is catalogued, so order.<status> emitted by
// the processor always has a schema.
func TestEveryOrderStatusHasAnOutboundType(t *testing.T) {
	t.Parallel()
	c := load(t)
	for _, s := range usher.OrderStatuses() {
		if typ := usher.OrderEventType(s); !has(c, events.Outbound, typ) {
			t.Errorf("status %s emits %s, which the catalog lacks", s, typ)
		}
	}
}

func has(c *events.Catalog, d events.Direction, typ string) bool {
	_, ok := c.Lookup(d, typ)
	return ok
}

// TestEveryExampleValidates checks each version's examples against its
// own schema, and that each schema shares the identifier grammar.
func TestEveryExampleValidates(t *testing.T) {
	t.Parallel()
	c := load(t)
	for _, e := range c.Entries() {
		v := c.Validator(e.Direction)
		for _, ver := range e.Versions {
			for i, ex := range ver.Examples {
				if err := v.Validate(e.Type, ver.Name, ex); err != nil {
					t.Errorf("%s %s %s example %d: %v", e.Direction, e.Type, ver.Name, i, err)
				}
			}
			var doc struct {
				Schema string                    `json:"$schema"`
				Defs   map[string]map[string]any `json:"$defs"`
			}
			if err := json.Unmarshal(ver.Schema, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.Defs["id"]["pattern"] != idPattern {
				t.Errorf("%s %s %s: $schema %q, $defs.id pattern %q, want draft 2020-12 and %q", e.Direction, e.Type, ver.Name, doc.Schema, doc.Defs["id"]["pattern"], idPattern)
			}
		}
	}
}

// idPattern is the identifier grammar of usher (usher.ValidateID).
const idPattern = `^[A-Za-z0-9._:-]{1,128}$`

// TestEveryIDFieldUsesTheSharedGrammar checks that a property named id or
// *_id (but the device's own names) refers to $defs/id in every schema.
func TestEveryIDFieldUsesTheSharedGrammar(t *testing.T) {
	t.Parallel()
	c := load(t)
	for _, e := range c.Entries() {
		for _, ver := range e.Versions {
			var doc struct {
				Properties map[string]map[string]any `json:"properties"`
			}
			_ = json.Unmarshal(ver.Schema, &doc)
			for name, p := range doc.Properties {
				if !strings.HasSuffix(name, "_id") || strings.Contains(name, "device_id") {
					continue
				}
				if p["$ref"] != "#/$defs/id" && p["$ref"] != "#/$defs/id_or_empty" {
					t.Errorf("%s %s %s: %s does not use #/$defs/id", e.Direction, e.Type, ver.Name, name)
				}
			}
		}
	}
}

// TestCatalogPassesItsCompatibilityCheck runs the policy on the real files.
func TestCatalogPassesItsCompatibilityCheck(t *testing.T) {
	t.Parallel()
	for _, err := range load(t).Check() {
		t.Error(err)
	}
}

func TestSchemaFilesAreTheCatalog(t *testing.T) {
	t.Parallel()
	var files []string
	_ = fs.WalkDir(events.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	c := load(t)
	var want []string
	for _, e := range c.Entries() {
		for _, v := range e.Versions {
			want = append(want, events.SchemaPath(e.Direction, e.Type, v.Name))
		}
	}
	slices.Sort(files)
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Errorf("schema files %v\nwant %v", files, want)
	}
}
