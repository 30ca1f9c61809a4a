package events

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestGateContractsChangeOnlyCompatibly: a next version of a gate contract
// may add an optional field, and fails the check when it makes any breaking
// change, even one a Change would allow for an outbound type.
func TestGateContractsChangeOnlyCompatibly(t *testing.T) {
	t.Parallel()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	e, ok := c.Lookup(Gate, GateScanAnswer)
	if !ok || len(e.Versions) != 1 {
		t.Fatalf("gate contract %s: %+v", GateScanAnswer, e)
	}
	prev := e.Versions[0]
	next := func(edit func(doc map[string]any)) EntryVersion {
		var doc map[string]any
		if err := json.Unmarshal(prev.Schema, &doc); err != nil {
			t.Fatal(err)
		}
		edit(doc)
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return EntryVersion{Version: Version{Name: "2027-06-01", State: Current}, Schema: raw}
	}
	props := func(doc map[string]any) map[string]any { return doc["properties"].(map[string]any) }
	added := next(func(doc map[string]any) { props(doc)["gate_id"] = map[string]any{"type": "string"} })
	if err := c.checkPair(e, prev, added); err != nil {
		t.Errorf("an added optional field: %v", err)
	}
	removed := next(func(doc map[string]any) { delete(props(doc), "reason") })
	required := next(func(doc map[string]any) { doc["required"] = append(doc["required"].([]any), "reason") })
	for name, v := range map[string]EntryVersion{"removed_property": removed, "new_required": required} {
		err := c.checkPair(e, prev, v)
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "only compatible changes") {
			t.Errorf("%s: got %v, want the breaking change refused", name, err)
		}
	}
}
