package events_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/events.md from the catalog")

// TestEventsDocUpToDate fails when docs/events.md is not what the catalog
// generates; -update rewrites it.
func TestEventsDocUpToDate(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "events.md")
	want := load(t).Markdown()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/events.md is stale: run go test ./internal/events -run TestEventsDocUpToDate -update")
	}
}
