package ticketing

import (
	"testing"
	"time"

	"github.com/usherhq/usher"
)

func TestSeatRules(t *testing.T) {
	t.Parallel()
	valid := usher.Ticket{Status: usher.TicketValid}
	admitted := usher.Ticket{Status: usher.TicketAdmitted}
	revoked := usher.Ticket{Status: usher.TicketRevoked, RevokedBy: usher.RevokedByChargeback}
	deltas := []struct {
		name     string
		from, to usher.Ticket
		want     int
	}{
		{"valid to revoked gives a seat up", valid, revoked, -1},
		{"admitted to revoked gives a seat up", admitted, revoked, -1},
		{"revoked to valid takes a seat", revoked, valid, 1},
		{"valid to admitted keeps it", valid, admitted, 0},
		{"revoked to revoked keeps none", revoked, revoked, 0},
	}
	for _, tt := range deltas {
		if got := SeatDelta(tt.from, tt.to); got != tt.want {
			t.Errorf("SeatDelta %s = %d, want %d", tt.name, got, tt.want)
		}
	}
	inv := usher.Inventory{Capacity: 10, Sold: 6, Held: 3}
	takes := []struct {
		inv   usher.Inventory
		delta int
		want  bool
	}{
		{inv, 1, true},
		{inv, 2, false},
		{inv, 0, true},
		{inv, -1, true},
		{usher.Inventory{Capacity: 5, Sold: 5}, 1, false},
		{usher.Inventory{Capacity: 5, Sold: 6}, -1, true}, // capacity lowered below sold: giving back is allowed
	}
	for _, tt := range takes {
		if got := TakesSeats(tt.inv, tt.delta); got != tt.want {
			t.Errorf("TakesSeats(%+v, %d) = %v, want %v", tt.inv, tt.delta, got, tt.want)
		}
	}
	if got := Available(inv); got != 1 {
		t.Errorf("Available = %d, want 1", got)
	}
	for _, sale := range []bool{true, false} {
		sold, held := Reservation(usher.Item{TicketType: "ga", Quantity: 3}, sale)
		if sale && (sold != 3 || held != 0) || !sale && (sold != 0 || held != 3) {
			t.Errorf("Reservation(sale %v) = %d sold, %d held", sale, sold, held)
		}
	}
}

func TestUnpaidReasonIsOrderIndependent(t *testing.T) {
	t.Parallel()
	reasons := []usher.OrderStatus{usher.OrderPaymentFailed, usher.OrderExpired, usher.OrderCanceled}
	tests := []struct {
		current string
		reason  usher.OrderStatus
		want    string
	}{
		{"", usher.OrderPaymentFailed, "payment_failed"},
		{"payment_failed", usher.OrderExpired, "expired"},
		{"expired", usher.OrderPaymentFailed, "expired"},
		{"canceled", usher.OrderExpired, "canceled"},
		{"expired", usher.OrderCanceled, "canceled"},
		{"canceled", usher.OrderCanceled, "canceled"},
	}
	for _, tt := range tests {
		if got := UnpaidReason(tt.current, tt.reason); got != tt.want {
			t.Errorf("UnpaidReason(%q, %s) = %q, want %q", tt.current, tt.reason, got, tt.want)
		}
	}
	// Every permutation of arrivals ends in the strongest reason.
	for _, a := range reasons {
		for _, b := range reasons {
			for _, c := range reasons {
				got := UnpaidReason(UnpaidReason(UnpaidReason("", a), b), c)
				want := "payment_failed"
				for _, r := range []usher.OrderStatus{a, b, c} {
					if r == usher.OrderCanceled || r == usher.OrderExpired && want != "canceled" {
						want = string(r)
					}
				}
				if got != want {
					t.Errorf("arrivals %s %s %s ended %q, want %q", a, b, c, got, want)
				}
			}
		}
	}
}

func TestOrderFactRules(t *testing.T) {
	t.Parallel()
	paid := time.Unix(1700000000, 0)
	tests := []struct {
		name    string
		f       usher.OrderFacts
		hold    bool
		revoked string
	}{
		{"new order", usher.OrderFacts{}, true, ""},
		{"paid first", usher.OrderFacts{PaidAt: paid}, false, ""},
		{"canceled first", usher.OrderFacts{UnpaidReason: "canceled"}, false, ""},
		{"refund first", usher.OrderFacts{RefundAll: true}, false, usher.RevokedByRefund},
		{"dispute first", usher.OrderFacts{Chargebacks: 1}, false, usher.RevokedByChargeback},
		{"refund and dispute first", usher.OrderFacts{RefundAll: true, Chargebacks: 1}, false, usher.RevokedByRefund},
		{"dispute reversed first", usher.OrderFacts{Chargebacks: -1}, false, ""},
	}
	for _, tt := range tests {
		if got := ShouldHold(tt.f); got != tt.hold {
			t.Errorf("%s: ShouldHold = %v, want %v", tt.name, got, tt.hold)
		}
		if got := PaidRevocation(tt.f); got != tt.revoked {
			t.Errorf("%s: PaidRevocation = %q, want %q", tt.name, got, tt.revoked)
		}
	}
	received := time.Unix(1700000000, 0)
	if got := HoldExpiry(time.Time{}, received); !got.Equal(received.Add(15 * time.Minute)) {
		t.Errorf("HoldExpiry without expiry = %v", got)
	}
	if got := HoldExpiry(received.Add(time.Hour), received); !got.Equal(received.Add(time.Hour)) {
		t.Errorf("HoldExpiry with expiry = %v", got)
	}
}

func TestTicketRules(t *testing.T) {
	t.Parallel()
	o := usher.Order{OrderID: "ord_1", ShowID: "show_1", VenueID: "venue_1"}
	valid := NewTicket("tkt_1", o, "ga", "")
	if valid.Status != usher.TicketValid || valid.Generation != 1 || valid.VenueID != "venue_1" || IssuedType(valid) != usher.TypeTicketIssued {
		t.Errorf("NewTicket valid = %+v", valid)
	}
	revoked := NewTicket("tkt_2", o, "ga", usher.RevokedByRefund)
	if revoked.Status != usher.TicketRevoked || revoked.RevokedBy != usher.RevokedByRefund || IssuedType(revoked) != usher.TypeTicketRevoked {
		t.Errorf("NewTicket revoked = %+v", revoked)
	}
	at := time.Unix(1700000000, 0)
	stale := []struct {
		changed, at time.Time
		want        bool
	}{
		{time.Time{}, at, false},
		{at, at, true},
		{at, at.Add(-time.Second), true},
		{at, at.Add(time.Second), false},
	}
	for _, tt := range stale {
		if got := StaleTransfer(tt.changed, tt.at); got != tt.want {
			t.Errorf("StaleTransfer(%v, %v) = %v, want %v", tt.changed, tt.at, got, tt.want)
		}
	}
	out := map[TicketEvent]string{
		Refund: usher.TypeTicketRevoked, Dispute: usher.TypeTicketRevoked, Reinstate: usher.TypeTicketReinstated,
		Transfer: usher.TypeTicketTransferred, Admit: usher.TypeTicketAdmitted, "unknown": "",
	}
	for e, want := range out {
		if got := OutboundType(e); got != want {
			t.Errorf("OutboundType(%s) = %q, want %q", e, got, want)
		}
	}
}
