package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/scanner"
	"github.com/usherhq/usher/internal/ushertest"
)

// TestGateDemandsRotatingDisplayCodes: at a show that does not allow static
// codes, the plain ticket code is refused as stale_code, a display code is
// admitted inside its window, and one read two minutes later is refused.
func TestGateDemandsRotatingDisplayCodes(t *testing.T) {
	t.Parallel()
	clock := ushertest.NewClock(time.Now())
	s := ushertest.Start(t, ushertest.WithClock(clock))
	if status := s.Admin(http.MethodPut, "/v1/shows/rot-show/inventory/GA", "", map[string]int{"capacity": 5}, nil); status != 200 {
		t.Fatalf("capacity: %d", status)
	}
	data := map[string]any{"order_id": "ord_rot", "show_id": "rot-show", "venue_id": "rot-venue",
		"items": []map[string]any{{"ticket_type": "GA", "quantity": 2}}}
	status, _ := s.Do(signedAt(t, s, s.Secret.Key, clock.Now(), ushertest.Envelope("order.paid", data)))
	if status != 202 {
		t.Fatalf("order.paid: %d", status)
	}
	o := waitOrder(t, s, "ord_rot")
	token := scannerToken(t, s, "scanner:rot-venue")
	req := func(code, nonce string) scanner.ScanRequest {
		return scanner.ScanRequest{Code: code, VenueID: "rot-venue", DeviceID: "gate-1", ScannedAt: clock.Now(), Nonce: nonce}
	}
	if got := scan(t, s, token, req(o.Tickets[0].Code, "n1")); got.Result != scanner.ResultStaleCode {
		t.Errorf("plain code at a rotating-only show: %s, want stale_code", got.Result)
	}
	display := func(ticketID string) string {
		var dc struct {
			Code string `json:"code"`
		}
		if status := s.Admin(http.MethodGet, "/v1/tickets/"+ticketID+"/display-code", "", nil, &dc); status != 200 {
			t.Fatalf("display code: %d", status)
		}
		return dc.Code
	}
	if got := scan(t, s, token, req(display(o.Tickets[0].TicketID), "n2")); got.Result != scanner.ResultAdmitted {
		t.Errorf("display code inside its window: %s, want admitted", got.Result)
	}
	old := display(o.Tickets[1].TicketID)
	clock.Advance(2 * time.Minute)
	if got := scan(t, s, token, req(old, "n3")); got.Result != scanner.ResultStaleCode {
		t.Errorf("display code read 2 minutes later: %s, want stale_code", got.Result)
	}
}
