package ticketing_test

import (
	"errors"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/ticketing"
)

// TestNextTicketIsExhaustive walks every (state, event) pair: the legal ones
// give the listed state, all others are ErrIllegal and change nothing.
func TestNextTicketIsExhaustive(t *testing.T) {
	t.Parallel()
	type state struct {
		status    usher.TicketStatus
		revokedBy string
	}
	states := []state{
		{usher.TicketValid, ""}, {usher.TicketAdmitted, ""},
		{usher.TicketRevoked, usher.RevokedByRefund}, {usher.TicketRevoked, usher.RevokedByChargeback},
	}
	events := []ticketing.TicketEvent{ticketing.Admit, ticketing.Refund, ticketing.Dispute, ticketing.Reinstate, ticketing.Transfer}
	type want struct {
		status     usher.TicketStatus
		revokedBy  string
		generation int
		used       bool
	}
	legal := map[state]map[ticketing.TicketEvent]want{
		{usher.TicketValid, ""}: {
			ticketing.Admit:    {usher.TicketAdmitted, "", 1, false},
			ticketing.Refund:   {usher.TicketRevoked, usher.RevokedByRefund, 1, false},
			ticketing.Dispute:  {usher.TicketRevoked, usher.RevokedByChargeback, 1, false},
			ticketing.Transfer: {usher.TicketValid, "", 2, false},
		},
		{usher.TicketAdmitted, ""}: {
			ticketing.Refund:  {usher.TicketRevoked, usher.RevokedByRefund, 1, true},
			ticketing.Dispute: {usher.TicketRevoked, usher.RevokedByChargeback, 1, true},
		},
		{usher.TicketRevoked, usher.RevokedByChargeback}: {
			ticketing.Refund:    {usher.TicketRevoked, usher.RevokedByRefund, 1, false},
			ticketing.Reinstate: {usher.TicketValid, "", 2, false},
		},
	}
	for _, s := range states {
		for _, e := range events {
			in := usher.Ticket{TicketID: "t", Status: s.status, RevokedBy: s.revokedBy, Generation: 1}
			got, err := ticketing.NextTicket(in, e)
			w, ok := legal[s][e]
			if !ok {
				if !errors.Is(err, ticketing.ErrIllegal) || got != in {
					t.Errorf("%v on %v: got %+v, %v; want ErrIllegal and no change", e, s, got, err)
				}
				continue
			}
			if err != nil || got.Status != w.status || got.RevokedBy != w.revokedBy || got.Generation != w.generation || got.UsedBeforeRevocation != w.used {
				t.Errorf("%v on %v: got %s/%q gen %d used %v (%v); want %s/%q gen %d used %v",
					e, s, got.Status, got.RevokedBy, got.Generation, got.UsedBeforeRevocation, err, w.status, w.revokedBy, w.generation, w.used)
			}
		}
	}
}

func TestOrderStatus(t *testing.T) {
	t.Parallel()
	paid := time.Unix(100, 0)
	valid := usher.Ticket{Status: usher.TicketValid}
	refunded := usher.Ticket{Status: usher.TicketRevoked, RevokedBy: usher.RevokedByRefund}
	disputed := usher.Ticket{Status: usher.TicketRevoked, RevokedBy: usher.RevokedByChargeback}
	tests := []struct {
		name    string
		facts   usher.OrderFacts
		tickets []usher.Ticket
		hold    bool
		want    usher.OrderStatus
	}{
		{"created, holding", usher.OrderFacts{}, nil, true, usher.OrderPending},
		{"refund before payment", usher.OrderFacts{RefundAll: true}, nil, false, usher.OrderPending},
		{"canceled", usher.OrderFacts{UnpaidReason: "canceled"}, nil, false, usher.OrderCanceled},
		{"expired", usher.OrderFacts{UnpaidReason: "expired"}, nil, false, usher.OrderExpired},
		{"payment failed", usher.OrderFacts{UnpaidReason: "payment_failed"}, nil, false, usher.OrderPaymentFailed},
		{"payment failed, hold kept for a retry", usher.OrderFacts{UnpaidReason: "payment_failed"}, nil, true, usher.OrderPending},
		{"paid", usher.OrderFacts{PaidAt: paid}, []usher.Ticket{valid, valid}, false, usher.OrderPaid},
		{"paid after a failure", usher.OrderFacts{PaidAt: paid, UnpaidReason: "payment_failed"}, []usher.Ticket{valid}, false, usher.OrderPaid},
		{"paid, no seat", usher.OrderFacts{PaidAt: paid}, nil, false, usher.OrderOversold},
		{"paid, no seat, refunded", usher.OrderFacts{PaidAt: paid, RefundAll: true}, nil, false, usher.OrderRefunded},
		{"paid, no seat, disputed", usher.OrderFacts{PaidAt: paid, Chargebacks: 1}, nil, false, usher.OrderChargedBack},
		{"partly refunded", usher.OrderFacts{PaidAt: paid}, []usher.Ticket{valid, refunded}, false, usher.OrderPartiallyRefunded},
		{"fully refunded", usher.OrderFacts{PaidAt: paid}, []usher.Ticket{refunded, refunded}, false, usher.OrderRefunded},
		{"disputed", usher.OrderFacts{PaidAt: paid, Chargebacks: 1}, []usher.Ticket{disputed}, false, usher.OrderChargedBack},
		{"dispute reversed without a seat", usher.OrderFacts{PaidAt: paid}, []usher.Ticket{disputed, valid}, false, usher.OrderOversold},
	}
	for _, tt := range tests {
		if got := ticketing.OrderStatus(tt.facts, tt.tickets, tt.hold); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestDemandAndFits(t *testing.T) {
	t.Parallel()
	d, err := ticketing.Demand([]usher.Item{{TicketType: "GA", Quantity: 2}, {TicketType: "VIP", Quantity: 1}, {TicketType: "GA", Quantity: 1}})
	if err != nil || len(d) != 2 || d[0].Quantity != 3 || d[1].Quantity != 1 {
		t.Fatalf("Demand = %+v, %v", d, err)
	}
	for _, bad := range [][]usher.Item{nil, {{TicketType: "", Quantity: 1}}, {{TicketType: "GA", Quantity: 0}}, {{TicketType: "GA", Quantity: 101}}} {
		if _, err := ticketing.Demand(bad); err == nil {
			t.Errorf("Demand(%+v) accepted", bad)
		}
	}
	inv := map[string]usher.Inventory{"GA": {Capacity: 10, Sold: 6, Held: 1}, "VIP": {Capacity: 1}}
	if ok, _ := ticketing.Fits(d, inv); !ok {
		t.Error("3 GA of 3 free and 1 VIP of 1 did not fit")
	}
	if ok, why := ticketing.Fits([]usher.Item{{TicketType: "GA", Quantity: 4}}, inv); ok || why == "" {
		t.Error("4 GA of 3 free fit")
	}
	if ok, _ := ticketing.Fits([]usher.Item{{TicketType: "BALCONY", Quantity: 1}}, inv); ok {
		t.Error("an unknown ticket type fit")
	}
}
