package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/ushertest"
)

type eventType struct {
	Type        string `json:"type"`
	Direction   string `json:"direction"`
	Description string `json:"description"`
	Versions    []struct {
		Version  string            `json:"version"`
		State    string            `json:"state"`
		Sunset   string            `json:"sunset"`
		Schema   json.RawMessage   `json:"schema"`
		Examples []json.RawMessage `json:"examples"`
	} `json:"versions"`
}

// TestEventCatalogIsPublished reads the catalog with a token that holds no
// scope the catalog names: any valid token may.
func TestEventCatalogIsPublished(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	var tok struct {
		Token string `json:"token"`
	}
	if st := s.Admin(http.MethodPost, "/v1/tokens", "", map[string]any{"scopes": []string{"metrics:read"}}, &tok); st != 201 {
		t.Fatalf("create token: %d", st)
	}
	var list struct {
		EventTypes []eventType `json:"event_types"`
	}
	if st := s.Admin(http.MethodGet, "/v1/event-types", tok.Token, nil, &list); st != 200 {
		t.Fatalf("list: %d", st)
	}
	eventTypes := 0
	for _, d := range events.Defs() {
		if d.Direction != events.Gate { // gate contracts are no event types
			eventTypes++
		}
	}
	if len(list.EventTypes) != eventTypes {
		t.Errorf("listed %d types, want %d", len(list.EventTypes), eventTypes)
	}
	for _, e := range list.EventTypes {
		if e.Type == usher.TypeOrderConfirmed && e.Direction == "outbound" {
			if len(e.Versions) != 2 || e.Versions[0].State != "deprecated" || e.Versions[0].Sunset == "" || e.Versions[1].State != "current" || e.Versions[0].Schema != nil {
				t.Errorf("order.confirmed listed as %+v", e)
			}
		}
	}
	var one eventType
	if st := s.Admin(http.MethodGet, "/v1/event-types/"+usher.TypeTicketIssued, tok.Token, nil, &one); st != 200 {
		t.Fatalf("get: %d", st)
	}
	if one.Direction != "outbound" || len(one.Versions) != 2 || !strings.Contains(string(one.Versions[1].Schema), "2020-12") || len(one.Versions[1].Examples) == 0 {
		t.Errorf("ticket.issued: %+v", one)
	}
	if st := s.Admin(http.MethodGet, "/v1/event-types/order.canceled?direction=inbound", tok.Token, nil, &one); st != 200 || one.Direction != "inbound" {
		t.Errorf("order.canceled inbound: %d %+v", st, one)
	}
	for path, want := range map[string]int{"/v1/event-types/order.nope": 404, "/v1/event-types/order.paid?direction=sideways": 400} {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		if st, body := s.Do(req); st != want || !strings.Contains(string(body), "problem") {
			t.Errorf("%s: got %d %s, want %d problem", path, st, body, want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/v1/event-types", nil)
	if st, _ := s.Do(req); st != 401 {
		t.Errorf("without a token: %d, want 401", st)
	}
}

// TestEmittedPayloadsMatchTheirSchemas drives orders through the whole
// program and checks every outbound event the processor wrote against the
// current version's published schema: the schemas describe what the code
// really emits.
func TestEmittedPayloadsMatchTheirSchemas(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	if st := s.Admin(http.MethodPut, "/v1/shows/show_c/inventory/GA", "", map[string]int{"capacity": 2}, nil); st != 200 {
		t.Fatalf("put capacity: %d", st)
	}
	order := func(id string, qty int) map[string]any {
		return map[string]any{"order_id": id, "show_id": "show_c", "venue_id": "venue_c",
			"items": []map[string]any{{"ticket_type": "GA", "quantity": qty}}, "buyer": map[string]any{"email": "a@example.com"}}
	}
	// Events of different orders may be applied in any order (they can sit
	// on different partitions), and which types come out depends on it: the
	// orders go in stages, each once the one before has had its effect.
	emitted := func(types ...string) {
		t.Helper()
		ushertest.Eventually(t, 10*time.Second, fmt.Sprintf("outbound %v emitted", types), func() bool {
			for _, typ := range types {
				if len(outboxOf(t, s, typ)) == 0 {
					return false
				}
			}
			return true
		})
	}
	// ord_a takes both seats.
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope(usher.TypeOrderCreated, order("ord_a", 2)))
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope(usher.TypeOrderPaid, order("ord_a", 2)))
	emitted(usher.TypeTicketIssued, usher.TypeOrderConfirmed)
	// ord_b finds none left.
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope(usher.TypeOrderPaid, order("ord_b", 1)))
	emitted(usher.TypeOrderOversold, usher.TypeOrderNeedsRefund)
	for _, env := range [][]byte{
		ushertest.Envelope(usher.TypeOrderRefunded, map[string]any{"order_id": "ord_a"}),
		ushertest.Envelope(usher.TypeOrderCanceled, map[string]any{"order_id": "ord_c"}),
		ushertest.Envelope(usher.TypeInventoryAdjusted, map[string]any{"show_id": "show_c", "ticket_type": "GA", "capacity": 5}),
	} {
		mustAccept(t, s, ushertest.NewID(), env)
	}
	emitted(usher.TypeTicketIssued, usher.TypeTicketRevoked, usher.TypeOrderConfirmed, usher.TypeOrderRefunded,
		usher.TypeOrderOversold, usher.TypeOrderNeedsRefund, usher.TypeInventoryChanged)
	c, err := events.Load()
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Store().OutboxAfter(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	v := c.Validator(events.Outbound)
	for _, ev := range all {
		if err := v.Validate(ev.Type, "", ev.Data); err != nil {
			t.Errorf("%s %s: %v", ev.Type, ev.Data, err)
		}
	}
	t.Logf("%d outbound events validated", len(all))
}
