// Package eventstest checks in tests that what usher delivers is on its
// published contract: every test receiver of deliveries calls Check, and
// every scanner test CheckGate, so no code path can emit an off-contract
// payload or answer unnoticed.
package eventstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/usherhq/usher/internal/events"
)

// catalog is compiled once per test binary.
var catalog = sync.OnceValues(events.Load)

// Body is the envelope of a delivery.
type Body struct {
	Type      string          `json:"type"`
	Version   string          `json:"version"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Check returns an error unless body is a delivery envelope with exactly
// type, version, timestamp and data, whose data validates against the
// schema of its type at its version.
func Check(body []byte) error {
	c, err := catalog()
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var b Body
	if err := dec.Decode(&b); err != nil {
		return fmt.Errorf("delivery body %.200s: %w", body, err)
	}
	if b.Type == "" || b.Version == "" || b.Timestamp == "" || len(b.Data) == 0 {
		return fmt.Errorf("delivery body %.200s: want type, version, timestamp and data", body)
	}
	if err := c.Validator(events.Outbound).Validate(b.Type, b.Version, b.Data); err != nil {
		return fmt.Errorf("delivery of %s %s: %w (body %.300s)", b.Type, b.Version, err, body)
	}
	return nil
}

// CheckGate returns an error unless doc, a document the gate API served,
// validates against the gate contract typ (events.GateFeedEntry,
// events.GateScanAnswer, events.GateBatchResult) at the current gate
// version. Every scanner test calls it on what it receives.
func CheckGate(typ string, doc []byte) error {
	c, err := catalog()
	if err != nil {
		return err
	}
	if err := c.Validator(events.Gate).Validate(typ, "", doc); err != nil {
		return fmt.Errorf("%s %.300s: %w", typ, doc, err)
	}
	return nil
}

// Example returns the current example of the outbound type typ from the
// catalog with the fields of set that it has replaced, so that a test that
// writes outbound events directly keeps them on contract.
func Example(t testing.TB, typ string, set map[string]any) json.RawMessage {
	t.Helper()
	c, err := catalog()
	if err != nil {
		t.Fatal(err)
	}
	e, ok := c.Lookup(events.Outbound, typ)
	if !ok {
		t.Fatalf("%s is not an outbound type of the catalog", typ)
	}
	var data map[string]any
	if err := json.Unmarshal(e.Versions[len(e.Versions)-1].Examples[0], &data); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if _, ok := data[k]; ok {
			data[k] = v
		}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
