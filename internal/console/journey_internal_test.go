package console

import (
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
)

// TestJourneyLeavesOutErrorsBeyondTheCallersScopes: the journey needs only
// orders:read; a dead letter's last error needs dlq:read and a delivery
// attempt's error subscriptions:read, as elsewhere.
func TestJourneyLeavesOutErrorsBeyondTheCallersScopes(t *testing.T) {
	t.Parallel()
	page := func() journeyPage {
		return journeyPage{
			DeadLetters: []usher.DeadLetterRecord{{DeadLetter: usher.DeadLetter{Reason: "unknown_order", LastError: "no order was paid with pi_1"}}},
			Outbound:    []outboundStep{{Deliveries: []deliveryStep{{Attempts: []usher.DeliveryAttempt{{StatusCode: 500, Error: "transport: EOF"}}}}}},
		}
	}
	for _, tc := range []struct {
		scopes         []string
		dlErr, attempt string
		hidden         bool
	}{
		{[]string{auth.ScopeOrdersRead}, "", "", true},
		{[]string{auth.ScopeOrdersRead, auth.ScopeDLQRead}, "no order was paid with pi_1", "", true},
		{[]string{auth.ScopeOrdersRead, auth.ScopeDLQRead, auth.ScopeSubsRead}, "no order was paid with pi_1", "transport: EOF", false},
		{[]string{auth.ScopeAll}, "no order was paid with pi_1", "transport: EOF", false},
	} {
		p := page()
		redact(&p, &view{P: auth.Principal{Scopes: tc.scopes}})
		got := p.Outbound[0].Deliveries[0].Attempts[0]
		if p.DeadLetters[0].LastError != tc.dlErr || got.Error != tc.attempt || p.ErrorsHidden != tc.hidden ||
			p.DeadLetters[0].Reason != "unknown_order" || got.StatusCode != 500 {
			t.Errorf("scopes %v: dead letter %+v, attempt %+v, hidden %v; want errors %q, %q, hidden %v, the rest kept",
				tc.scopes, p.DeadLetters[0], got, p.ErrorsHidden, tc.dlErr, tc.attempt, tc.hidden)
		}
	}
}
