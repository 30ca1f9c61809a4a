package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

// TestDataOffItsSchemaIsRefusedAtTheEdge: canonical data that breaks its
// type's schema is refused with 400 schema_violation naming the failing
// place and why, before it is enqueued; a Stripe event whose mapped data
// breaks it is refused the same way; a type the catalog does not list is
// still accepted (and stored as ignored, TestUnknownTypeIsStoredWithoutEffect).
func TestDataOffItsSchemaIsRefusedAtTheEdge(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	const order = "ord_schema_edge"
	bad := ushertest.Paid(order, 1)
	bad["items"] = []map[string]any{{"ticket_type": server.DemoTicketType, "quantity": 0}}
	status, body := s.Send(ushertest.NewID(), ushertest.Envelope("order.paid", bad))
	wantViolation(t, "quantity 0", status, body, "/data/items/0/quantity")

	noVenue := ushertest.Paid(order, 1)
	delete(noVenue, "venue_id")
	status, body = s.Send(ushertest.NewID(), ushertest.Envelope("order.paid", noVenue))
	wantViolation(t, "no venue_id", status, body, "/data/venue_id")

	stripeSource(t, s)
	checkout := stripeFixture(t, "checkout_session_completed.json")
	obj := checkout["data"].(map[string]any)["object"].(map[string]any)
	obj["metadata"] = map[string]any{"order_id": order, "show_id": server.DemoShow, "venue_id": server.DemoVenue,
		"ticket_type": server.DemoTicketType, "quantity": "101"}
	status, body = sendStripe(t, s, checkout)
	wantViolation(t, "Stripe quantity 101", status, body, "/data/items/0/quantity")

	// The same order, paid correctly, is the only event the processor sees:
	// the refused ones share its partition and would have come first.
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid(order, 1)))
	waitOrder(t, s, order)
	recs, err := s.Store().InboundRecords(context.Background(), order)
	if err != nil || len(recs) != 1 {
		t.Errorf("inbound records of %s: got %d (%v), want only the valid one", order, len(recs), err)
	}
}

func wantViolation(t *testing.T, what string, status int, body []byte, pointer string) {
	t.Helper()
	var d problem.Details
	if err := json.Unmarshal(body, &d); err != nil || status != http.StatusBadRequest || d.Code != "schema_violation" ||
		d.Type != problem.TypeBase+"schema-violation" || d.Pointer != pointer || d.Reason == "" {
		t.Errorf("%s: got %d %s, want 400 schema_violation at %s with a reason", what, status, body, pointer)
	}
}

func stripeSource(t *testing.T, s *ushertest.Server) {
	t.Helper()
	if status := s.Admin(http.MethodPost, "/v1/sources", "", map[string]any{"name": "stripe", "scheme": "stripe", "secret": scanStripeSecret}, nil); status != 201 {
		t.Fatalf("create stripe source: %d", status)
	}
}
