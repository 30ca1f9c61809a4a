package ticketing

import (
	"time"

	"github.com/usherhq/usher"
)

// DefaultHold is the hold of an order.created that names no expiry.
const DefaultHold = 15 * time.Minute

// Available returns the seats of a ticket type that are neither sold nor
// held.
func Available(inv usher.Inventory) int {
	return inv.Capacity - inv.Sold - inv.Held
}

// SeatDelta is +1 when a ticket takes a seat back going from from to to, -1
// when it gives one up, 0 otherwise.
func SeatDelta(from, to usher.Ticket) int {
	switch before, after := HoldsSeat(from), HoldsSeat(to); {
	case !before && after:
		return 1
	case before && !after:
		return -1
	}
	return 0
}

// TakesSeats reports whether inv can give delta more seats: always when
// delta is not positive.
func TakesSeats(inv usher.Inventory, delta int) bool {
	return delta <= 0 || Available(inv) >= delta
}

// Reservation splits an item into the sold and held seats it takes: held for
// a hold (sale false), sold for a sale.
func Reservation(it usher.Item, sale bool) (sold, held int) {
	if sale {
		return it.Quantity, 0
	}
	return 0, it.Quantity
}

// unpaidRank orders the reasons an unpaid order gives up, so that the result
// does not depend on arrival order: the highest wins.
func unpaidRank(reason string) int {
	switch reason {
	case string(usher.OrderPaymentFailed):
		return 1
	case string(usher.OrderExpired):
		return 2
	case string(usher.OrderCanceled):
		return 3
	}
	return 0
}

// UnpaidReason returns the reason an unpaid order keeps when reason arrives
// and current is recorded: the stronger of the two (canceled over expired
// over payment_failed), whatever their arrival order.
func UnpaidReason(current string, reason usher.OrderStatus) string {
	if unpaidRank(string(reason)) > unpaidRank(current) {
		return string(reason)
	}
	return current
}

// ShouldHold reports whether an order.created takes a hold: only while no
// payment, unpaid reason, full refund or open dispute is known.
func ShouldHold(f usher.OrderFacts) bool {
	return f.PaidAt.IsZero() && f.UnpaidReason == "" && !f.RefundAll && f.Chargebacks == 0
}

// HoldExpiry returns when a hold ends: the event's expiry, or DefaultHold
// after the event was received.
func HoldExpiry(given, received time.Time) time.Time {
	if given.IsZero() {
		return received.Add(DefaultHold)
	}
	return given
}

// PaidRevocation returns how the tickets of an order paid now are revoked
// at once because a refund or dispute came before the payment: a full
// refund wins over an open dispute; "" when they are valid.
func PaidRevocation(f usher.OrderFacts) string {
	switch {
	case f.RefundAll:
		return usher.RevokedByRefund
	case f.Chargebacks > 0:
		return usher.RevokedByChargeback
	}
	return ""
}

// NewTicket returns a freshly minted ticket of an order, generation 1:
// valid, or revoked by revokedBy when that is not "".
func NewTicket(id string, o usher.Order, ticketType, revokedBy string) usher.Ticket {
	t := usher.Ticket{TicketID: id, OrderID: o.OrderID, ShowID: o.ShowID, VenueID: o.VenueID, TicketType: ticketType,
		Status: usher.TicketValid, Generation: 1}
	if revokedBy != "" {
		t.Status, t.RevokedBy = usher.TicketRevoked, revokedBy
	}
	return t
}

// StaleTransfer reports whether a transfer at at is older than the holder
// change already recorded at changedAt: of two transfers the later wins.
func StaleTransfer(changedAt, at time.Time) bool {
	return !changedAt.IsZero() && !at.After(changedAt)
}

// OutboundType returns the outbound event type of a ticket event.
func OutboundType(e TicketEvent) string {
	switch e {
	case Refund, Dispute:
		return usher.TypeTicketRevoked
	case Reinstate:
		return usher.TypeTicketReinstated
	case Transfer:
		return usher.TypeTicketTransferred
	case Admit:
		return usher.TypeTicketAdmitted
	}
	return ""
}

// IssuedType returns the outbound event type of a minted ticket.
func IssuedType(t usher.Ticket) string {
	if t.Status == usher.TicketRevoked {
		return usher.TypeTicketRevoked
	}
	return usher.TypeTicketIssued
}
