package webhook_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/webhook"
)

// canonicalBody is an order.paid envelope whose data gets field set to value.
func canonicalBody(t *testing.T, field string, value any) []byte {
	t.Helper()
	data := map[string]any{"order_id": "ord_1", "show_id": "show_1", "venue_id": "venue_1",
		"items": []map[string]any{{"ticket_type": "GA", "quantity": 1}}}
	data[field] = value
	b, err := json.Marshal(map[string]any{"type": "order.paid", "timestamp": "2026-11-28T12:00:00Z", "data": data})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNormalizeRefusesMalformedIDs(t *testing.T) {
	t.Parallel()
	s := mustScheme(t, webhook.SchemeStandardWebhooks)
	tests := []struct {
		field string
		value any
		named string
	}{
		{"order_id", "ord\x00nul", "data.order_id"},
		{"order_id", strings.Repeat("x", 10<<10), "data.order_id"},
		{"order_id", "ord\u202e1", "data.order_id"},
		{"order_id", 42, "data.order_id"},
		{"venue_id", "*", "data.venue_id"},
		{"show_id", "show/../1", "data.show_id"},
		{"ticket_id", "t k", "data.ticket_id"},
		{"payment_intent", "pi\n1", "data.payment_intent"},
		{"ticket_ids", []string{"tkt_1", "tkt\x002"}, "data.ticket_ids[1]"},
		{"items", []map[string]any{{"ticket_type": "GA", "quantity": 1}, {"ticket_type": "V I P", "quantity": 1}}, "data.items[1].ticket_type"},
	}
	for _, tc := range tests {
		_, _, err := s.Normalize(webhook.Verified{EventID: "msg_1"}, canonicalBody(t, tc.field, tc.value))
		if usher.ErrorCode(err) != usher.CodeMalformedEnvelope || !strings.HasPrefix(usher.ErrorMessage(err), tc.named+" ") {
			t.Errorf("Normalize(%s=%.40q) = %v, want malformed_envelope naming %s", tc.field, tc.value, err, tc.named)
		}
	}
	for _, ok := range []any{"ord_2026-11:A.1", "", nil} {
		if _, _, err := s.Normalize(webhook.Verified{EventID: "msg_1"}, canonicalBody(t, "order_id", ok)); err != nil {
			t.Errorf("Normalize(order_id=%q) = %v, want nil", ok, err)
		}
	}
}

func TestStripeNormalizeRefusesMalformedIDs(t *testing.T) {
	t.Parallel()
	s := mustScheme(t, webhook.SchemeStripe)
	body := func(md map[string]string) []byte {
		b, err := json.Marshal(map[string]any{"id": "evt_1", "type": "payment_intent.succeeded", "created": 1764331200,
			"data": map[string]any{"object": map[string]any{"id": "pi_1", "metadata": md}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for md, named := range map[*map[string]string]string{
		{"order_id": "ord\x00"}:                          "data.object.metadata.order_id",
		{"order_id": "ord_1", "venue_id": "*"}:           "data.object.metadata.venue_id",
		{"order_id": "ord_1", "ticket_type": "G\u202eA"}: "data.object.metadata.items",
	} {
		_, _, err := s.Normalize(webhook.Verified{EventID: "evt_1"}, body(*md))
		if usher.ErrorCode(err) != usher.CodeMalformedEnvelope || !strings.HasPrefix(usher.ErrorMessage(err), named) {
			t.Errorf("Normalize(metadata %+q) = %v, want malformed_envelope naming %s", *md, err, named)
		}
	}
	if _, _, err := s.Normalize(webhook.Verified{EventID: "evt_1"}, body(map[string]string{"order_id": "ord_1", "ticket_type": "GA"})); err != nil {
		t.Errorf("Normalize(valid metadata) = %v, want nil", err)
	}
}
