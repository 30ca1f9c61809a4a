package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

// contractFixture is the state the contract cases read: an order with a
// ticket, a scanner token for the demo venue, a subscription whose
// receiver refuses everything (so a dead letter exists) and a pass.
type contractFixture struct {
	ticketID, ticketCode, scanner, subID, deadLetter, pass, passID string
}

func newContractFixture(t *testing.T, s *ushertest.Server) contractFixture {
	t.Helper()
	var f contractFixture
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadRequest) }))
	t.Cleanup(refuse.Close)
	var sub struct{ ID string }
	if st := s.Admin("POST", "/v1/subscriptions", "", map[string]any{"url": refuse.URL + "/hook", "event_types": []string{"ticket.issued"}}, &sub); st != http.StatusCreated {
		t.Fatalf("create subscription: %d", st)
	}
	f.subID = sub.ID
	if status, _ := s.Send(ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_contract", 1))); status != http.StatusAccepted {
		t.Fatalf("send: %d", status)
	}
	var order usher.Order
	ushertest.Eventually(t, 20*time.Second, "order", func() bool {
		o, err := s.Store().OrderWithTickets(context.Background(), "ord_contract")
		order = o
		return err == nil && len(o.Tickets) > 0
	})
	f.ticketID, f.ticketCode = order.Tickets[0].TicketID, order.Tickets[0].Code
	var dl struct {
		DeadLetters []struct{ ID string } `json:"dead_letters"`
	}
	ushertest.Eventually(t, 20*time.Second, "dead letter", func() bool {
		s.Admin("GET", "/v1/dlq?subscription_id="+f.subID, "", nil, &dl)
		return len(dl.DeadLetters) > 0
	})
	f.deadLetter = dl.DeadLetters[0].ID
	var tok struct{ Token string }
	if st := s.Admin("POST", "/v1/tokens", "", map[string]any{"scopes": []string{"scanner:" + server.DemoVenue}}, &tok); st != http.StatusCreated {
		t.Fatalf("scanner token: %d", st)
	}
	f.scanner = tok.Token
	var pass struct {
		URL     string `json:"url"`
		TokenID string `json:"token_id"`
	}
	if st := s.Admin("POST", "/v1/tickets/"+f.ticketID+"/pass-url", "", nil, &pass); st != http.StatusCreated {
		t.Fatalf("pass url: %d", st)
	}
	u, err := url.Parse(pass.URL)
	if err != nil {
		t.Fatal(err)
	}
	f.pass, f.passID = u.Path, pass.TokenID
	return f
}

// TestAnswersMatchTheOpenAPIContract sends real requests to a running
// usher and validates each answer, successes and problems, against the
// document: status documented, content type and body matching its schema.
func TestAnswersMatchTheOpenAPIContract(t *testing.T) {
	t.Parallel()
	doc := loadContract(t)
	s := ushertest.Start(t)
	doc.Servers = openapi3.Servers{{URL: s.URL()}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	f := newContractFixture(t, s)
	tok, show, venue := ushertest.AdminToken, server.DemoShow, server.DemoVenue
	now := time.Now().UTC().Format(time.RFC3339)
	cases := []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"GET", "/healthz", "", nil, 200},
		{"GET", "/readyz", "", nil, 200},
		{"GET", "/v1/orders/ord_contract", tok, nil, 200},
		{"GET", "/v1/orders/ord_missing", tok, nil, 404},
		{"GET", "/v1/tickets/" + f.ticketID, tok, nil, 200},
		{"GET", "/v1/tokens", tok, nil, 200},
		{"GET", "/v1/tokens", "", nil, 401},
		{"GET", "/v1/tokens", "not-a-token", nil, 401},
		{"GET", "/v1/tokens", f.scanner, nil, 403},
		{"POST", "/v1/tokens", tok, map[string]any{"scopes": []string{"orders:read"}, "description": "contract"}, 201},
		{"POST", "/v1/tokens", tok, map[string]any{"scopes": []string{"no:such-scope"}}, 400},
		{"POST", "/v1/sources", tok, map[string]string{"name": "contract-shop", "scheme": "standard-webhooks"}, 201},
		{"GET", "/v1/sources", tok, nil, 200},
		{"GET", "/v1/sources/contract-shop", tok, nil, 200},
		{"PATCH", "/v1/sources/contract-shop", tok, map[string]any{"rate_per_second": 5, "burst": 10}, 200},
		{"POST", "/v1/sources/contract-shop/secrets:rotate", tok, map[string]string{"grace": "1h"}, 201},
		{"GET", "/v1/shows/" + show + "/inventory", tok, nil, 200},
		{"PUT", "/v1/shows/" + show + "/inventory/VIP", tok, map[string]int{"capacity": 10}, 200},
		{"GET", "/v1/shows/" + show + "/settings", tok, nil, 200},
		{"PUT", "/v1/shows/" + show + "/settings", tok, map[string]bool{"allow_static_codes": true}, 200},
		{"GET", "/v1/ticket-keys", f.scanner, nil, 200},
		{"POST", "/v1/ticket-keys:rotate", tok, nil, 201},
		{"GET", "/v1/venues/" + venue + "/display-key", f.scanner, nil, 200},
		{"GET", "/v1/venues/" + venue + "/health", f.scanner, nil, 200},
		{"GET", "/v1/venues/" + venue + "/feed", f.scanner, nil, 200},
		{"GET", "/v1/tickets/" + f.ticketID + "/display-code", tok, nil, 200},
		{"GET", f.pass, "", nil, 200},
		{"DELETE", "/v1/passes/" + f.passID, tok, nil, 204},
		{"POST", "/v1/scans", f.scanner, map[string]any{"code": f.ticketCode, "venue_id": venue, "device_id": "gate-1", "scanned_at": now, "nonce": "n-online"}, 200},
		{"POST", "/v1/scans/batch", f.scanner, []map[string]any{{"code": f.ticketCode, "venue_id": venue, "device_id": "gate-2", "scanned_at": now, "nonce": "n-offline", "decision": "admitted"}}, 200},
		{"GET", "/v1/dlq", tok, nil, 200},
		{"GET", "/v1/dlq/" + f.deadLetter, tok, nil, 200},
		{"GET", "/v1/audit", tok, nil, 200},
		{"GET", "/v1/event-types", tok, nil, 200},
		{"GET", "/v1/event-types/ticket.issued", tok, nil, 200},
		{"GET", "/v1/subscriptions", tok, nil, 200},
		{"GET", "/v1/subscriptions/" + f.subID, tok, nil, 200},
		{"GET", "/v1/subscriptions/" + f.subID + "/attempts", tok, nil, 200},
		{"GET", "/v1/subscriptions/" + f.subID + "/public-keys", tok, nil, 200},
		{"POST", "/v1/subscriptions/" + f.subID + "/secrets:rotate", tok, map[string]string{"grace": "1h"}, 200},
		{"POST", "/v1/subscriptions/" + f.subID + "/replay", tok, map[string]string{"since": "2000-01-01T00:00:00Z"}, 200},
		{"PATCH", "/v1/subscriptions/" + f.subID, tok, map[string]any{"description": "contract", "retry_schedule": []string{"1s"}}, 200},
		{"PATCH", "/v1/subscriptions/" + f.subID, tok, map[string]any{"signing": "ed25519"}, 400},
		{"POST", "/v1/subscriptions/" + f.subID + "/pause", tok, nil, 200},
		{"POST", "/v1/subscriptions/" + f.subID + "/resume", tok, nil, 200},
		{"POST", "/v1/dlq/" + f.deadLetter + "/replay", tok, nil, 200},
		{"POST", "/v1/dlq/replay", tok, map[string]any{"subscription_id": f.subID}, 200},
		{"POST", "/v1/subscriptions", tok, map[string]any{"url": "not a url", "event_types": []string{"ticket.issued"}}, 400},
		{"POST", "/v1/subscriptions", tok, map[string]any{"url": "http://127.0.0.1:9/hook", "event_types": []string{"ticket.issued"}}, 201},
		{"GET", "/v1/orders/ord_contract/buyer", tok, nil, 200},
		{"DELETE", "/v1/orders/ord_contract/buyer", tok, nil, 200},
		{"POST", "/v1/incidents", tok, map[string]string{"title": "contract"}, 201},
		{"GET", "/v1/incidents", tok, nil, 200},
	}
	for _, c := range cases {
		validateAnswer(t, s.URL(), router, c.method, c.path, c.token, c.body, c.want)
	}
}
