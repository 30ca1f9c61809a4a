package api_test

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/usherhq/usher/internal/events"
)

// TestEnvelopeDataSchemasNameEveryInboundType: the Envelope's
// x-data-by-type names exactly the inbound event types of the catalog.
func TestEnvelopeDataSchemasNameEveryInboundType(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas struct {
				Envelope struct {
					ByType map[string]any `yaml:"x-data-by-type"`
				} `yaml:"Envelope"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	cat, err := events.Load()
	if err != nil {
		t.Fatal(err)
	}
	var inbound, documented []string
	for _, e := range cat.Entries() {
		if e.Direction == events.Inbound {
			inbound = append(inbound, e.Type)
		}
	}
	for typ := range doc.Components.Schemas.Envelope.ByType {
		documented = append(documented, typ)
	}
	slices.Sort(inbound)
	slices.Sort(documented)
	if !slices.Equal(inbound, documented) {
		t.Fatalf("Envelope x-data-by-type names %v, the catalog's inbound types are %v", documented, inbound)
	}
}
