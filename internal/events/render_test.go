package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
)

// TestRenderEveryExampleInEveryVersion renders each current example of every
// outbound type in every version; the result validates against that
// version's published schema.
func TestRenderEveryExampleInEveryVersion(t *testing.T) {
	t.Parallel()
	c := load(t)
	v := c.Validator(events.Outbound)
	cur := c.CurrentVersion(events.Outbound)
	for _, e := range c.Entries() {
		if e.Direction != events.Outbound {
			continue
		}
		latest, _ := e.Version(cur)
		for _, ver := range c.Versions(events.Outbound) {
			for _, ex := range latest.Examples {
				out, err := c.Render(e.Type, ex, cur, ver.Name)
				if err != nil {
					t.Errorf("render %s to %s: %v", e.Type, ver.Name, err)
					continue
				}
				if err := v.Validate(e.Type, ver.Name, out); err != nil {
					t.Errorf("%s rendered in %s: %v\n%s", e.Type, ver.Name, err, out)
				}
			}
		}
	}
}

func TestRenderOrderEventForOldVersion(t *testing.T) {
	t.Parallel()
	c := load(t)
	in := json.RawMessage(`{"order_id":"ord_1","show_id":"s","venue_id":"v","status":"paid","previous_status":"pending"}`)
	out, err := c.Render(usher.TypeOrderConfirmed, in, events.V20261201, events.V20260601)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(out, &got)
	if _, ok := got["previous_status"]; ok || got["status"] != "paid" || len(got) != 4 {
		t.Errorf("got %s, want the 2026-06-01 shape without previous_status", out)
	}
	// A type no change touches comes back as it is.
	tk := json.RawMessage(`{"ticket_id":"t"}`)
	if same, err := c.Render(usher.TypeTicketIssued, tk, events.V20261201, events.V20260601); err != nil || !bytes.Equal(same, tk) {
		t.Errorf("ticket.issued: got %s %v, want it unchanged", same, err)
	}
}

func TestRenderRefuses(t *testing.T) {
	t.Parallel()
	c := load(t)
	p := json.RawMessage(`{"order_id":"o"}`)
	if _, err := c.Render("order.nope", p, events.V20261201, events.V20260601); !errors.Is(err, events.ErrUnknownType) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := c.Render(usher.TypeOrderConfirmed, p, events.V20261201, "2020-01-01"); !errors.Is(err, events.ErrUnknownType) {
		t.Errorf("unknown version: %v", err)
	}
	// Upwards the older shape lacks previous_status: no transform, an error.
	if _, err := c.Render(usher.TypeOrderConfirmed, p, events.V20260601, events.V20261201); err == nil {
		t.Error("rendering an order event upwards without a transform succeeded")
	}
}
