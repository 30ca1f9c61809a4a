package ticketing

import (
	"errors"
	"fmt"

	"github.com/usherhq/usher"
)

// OrderStatus derives an order's status from its facts and its tickets, so
// that the same facts give the same status whatever order the events came in.
// The precedence is documented in docs/lifecycle.md.
func OrderStatus(f usher.OrderFacts, tickets []usher.Ticket, holdActive bool) usher.OrderStatus {
	if f.PaidAt.IsZero() {
		switch f.UnpaidReason {
		case string(usher.OrderCanceled):
			return usher.OrderCanceled
		case string(usher.OrderExpired):
			return usher.OrderExpired
		case string(usher.OrderPaymentFailed):
			if !holdActive {
				return usher.OrderPaymentFailed
			}
		}
		return usher.OrderPending
	}
	if len(tickets) == 0 { // paid, but no seat could be had
		switch {
		case f.Chargebacks > 0:
			return usher.OrderChargedBack
		case f.RefundAll:
			return usher.OrderRefunded
		}
		return usher.OrderOversold
	}
	if f.Chargebacks > 0 {
		return usher.OrderChargedBack
	}
	refunded, stranded := 0, 0
	for _, t := range tickets {
		if t.Status != usher.TicketRevoked {
			continue
		}
		switch t.RevokedBy {
		case usher.RevokedByRefund:
			refunded++
		case usher.RevokedByChargeback:
			stranded++ // dispute reversed, but no seat to reinstate it
		}
	}
	switch {
	case refunded == len(tickets):
		return usher.OrderRefunded
	case stranded > 0:
		return usher.OrderOversold
	case refunded > 0:
		return usher.OrderPartiallyRefunded
	}
	return usher.OrderPaid
}

// TicketEvent is something that happens to a ticket.
type TicketEvent string

// Ticket events.
const (
	Admit     TicketEvent = "admit"     // first scan at the gate
	Refund    TicketEvent = "refund"    // money returned: final
	Dispute   TicketEvent = "dispute"   // chargeback opened: reversible
	Reinstate TicketEvent = "reinstate" // chargeback reversed: new code
	Transfer  TicketEvent = "transfer"  // new holder: new code
)

// ErrIllegal is returned for a transition the ticket state machine forbids.
var ErrIllegal = errors.New("illegal ticket transition")

// NextTicket applies e to t and returns the ticket after it. Every legal
// transition is listed in docs/lifecycle.md; any other is ErrIllegal. A
// transition that changes the code increments Generation; the caller issues
// the new code.
func NextTicket(t usher.Ticket, e TicketEvent) (usher.Ticket, error) {
	next := t
	switch {
	case e == Admit && t.Status == usher.TicketValid:
		next.Status = usher.TicketAdmitted
	case e == Refund && (t.Status == usher.TicketValid || t.Status == usher.TicketAdmitted):
		next.Status, next.RevokedBy = usher.TicketRevoked, usher.RevokedByRefund
		next.UsedBeforeRevocation = t.Status == usher.TicketAdmitted
	case e == Refund && t.Status == usher.TicketRevoked && t.RevokedBy == usher.RevokedByChargeback:
		next.RevokedBy = usher.RevokedByRefund // a refund makes a dispute's revocation final
	case e == Dispute && (t.Status == usher.TicketValid || t.Status == usher.TicketAdmitted):
		next.Status, next.RevokedBy = usher.TicketRevoked, usher.RevokedByChargeback
		next.UsedBeforeRevocation = t.Status == usher.TicketAdmitted
	case e == Reinstate && t.Status == usher.TicketRevoked && t.RevokedBy == usher.RevokedByChargeback:
		next.Status, next.RevokedBy, next.Generation = usher.TicketValid, "", t.Generation+1
	case e == Transfer && t.Status == usher.TicketValid:
		next.Generation = t.Generation + 1
	default:
		return t, fmt.Errorf("%w: %s on a %s ticket (revoked by %q)", ErrIllegal, e, t.Status, t.RevokedBy)
	}
	return next, nil
}

// HoldsSeat reports whether a ticket in this state occupies a seat.
func HoldsSeat(t usher.Ticket) bool {
	return t.Status == usher.TicketValid || t.Status == usher.TicketAdmitted
}
