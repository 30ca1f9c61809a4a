package server_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/ushertest"
)

// wantProblem checks a 400 invalid problem whose detail starts with field.
func wantProblem(t *testing.T, what string, status int, body []byte, code, field string) {
	t.Helper()
	var d problem.Details
	if err := json.Unmarshal(body, &d); err != nil || status != http.StatusBadRequest || d.Code != code || !strings.HasPrefix(d.Detail, field+" ") {
		t.Errorf("%s: got %d %.300s, want 400 %s naming %s", what, status, body, code, field)
	}
}

// TestMalformedIdentifiersAreRefusedAtTheEdge: the ids of the hardening
// issue (a NUL byte, 10 KB of random text, a right-to-left override, "*")
// are refused with 400 naming the field by the webhook receiver and by the
// admin and scanner routes alike; none becomes an order.
func TestMalformedIdentifiersAreRefusedAtTheEdge(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	random := make([]byte, 5<<10)
	_, _ = rand.Read(random)
	paid := func(field, value string) []byte {
		d := ushertest.Paid("ord_edge_ok", 1)
		d[field] = value
		return ushertest.Envelope("order.paid", d)
	}
	hooks := []struct {
		name, field string
		body        []byte
	}{
		{"NUL in order_id", "data.order_id", paid("order_id", "ord_\x00nul")},
		{"10 KB order_id", "data.order_id", paid("order_id", hex.EncodeToString(random))},
		{"RLO in order_id", "data.order_id", paid("order_id", "ord_\u202e1")},
		{"venue_id *", "data.venue_id", paid("venue_id", "*")},
		{"slash in show_id", "data.show_id", paid("show_id", "show/1")},
	}
	for _, h := range hooks {
		status, body := s.Send(ushertest.NewID(), h.body)
		wantProblem(t, h.name, status, body, "malformed_envelope", h.field)
	}
	for _, id := range []string{"msg 1", "msg_\u202e1"} {
		status, body := s.Send(id, ushertest.Envelope("order.paid", ushertest.Paid("ord_edge_ok", 1)))
		wantProblem(t, "webhook-id "+id, status, body, "invalid_request", "webhook-id")
	}

	scanner := scannerToken(t, s, "scanner:venue_1")
	for _, path := range []string{"/v1/orders/ord%00nul", "/v1/orders/ord%E2%80%AE1", "/v1/orders/" + strings.Repeat("o", 129),
		"/v1/tickets/t%20k", "/v1/venues/%2A/feed"} {
		token := ""
		field := strings.SplitN(strings.TrimPrefix(path, "/v1/"), "/", 2)[0]
		field = map[string]string{"orders": "order_id", "tickets": "ticket_id", "venues": "venue_id"}[field]
		if field == "venue_id" {
			token = scanner
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL()+path, nil)
		if token == "" {
			token = ushertest.AdminToken
		}
		req.Header.Set("Authorization", "Bearer "+token)
		status, body := s.Do(req)
		wantProblem(t, "GET "+path, status, body, "invalid_request", field)
	}
	if status := s.Admin(http.MethodPost, "/v1/tokens", "", map[string]any{"scopes": []string{"scanner:ven ue"}}, nil); status != http.StatusBadRequest {
		t.Errorf("token for scanner:\"ven ue\": %d, want 400", status)
	}

	mustAccept(t, s, ushertest.NewID(), paid("order_id", "ord_edge_ok"))
	if counts := waitProcessed(t, s, 1); counts["applied"] != 1 || len(counts) != 1 {
		t.Errorf("processed %v, want only the one good event", counts)
	}
}
