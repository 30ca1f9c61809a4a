package processor

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ticketing"
)

// errNoSeat is returned when a reinstated ticket finds its seat sold.
var errNoSeat = errors.New("no seat to reinstate")

// transition applies a ticket event: state machine, seat, code, feed and
// outbound event, in the transaction.
func (p *Processor) transition(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, t usher.Ticket, e ticketing.TicketEvent) (usher.Ticket, error) {
	next, err := ticketing.NextTicket(t, e)
	if err != nil {
		return t, nil // not applicable to this ticket's state (e.g. refunding a refunded ticket)
	}
	if seat := ticketing.SeatDelta(t, next); seat != 0 {
		inv, found, err := tx.Inventory(ctx, t.ShowID, t.TicketType)
		if err != nil {
			return t, err
		}
		if found {
			if !ticketing.TakesSeats(inv, seat) {
				return t, errNoSeat
			}
			if err := tx.SwapSold(ctx, inv, seat); err != nil {
				return t, err
			}
		}
	}
	if next.Generation != t.Generation {
		if next.Code, err = p.codes.IssueCode(next); err != nil {
			return t, err
		}
		if e == ticketing.Transfer {
			next.HolderChangedAt = eventTime(ev)
		}
	}
	if err := tx.UpdateTicket(ctx, next, t.Status, t.Generation); err != nil {
		return t, err
	}
	return next, p.ticketChanged(ctx, tx, ev, next, ticketing.OutboundType(e))
}

// transferData is the data of ticket.transferred (its new holder, "to", is
// in the vault: see vaultAndStrip).
type transferData struct {
	TicketID string `json:"ticket_id"`
	OrderID  string `json:"order_id"`
}

// applyTransferred moves a valid ticket to a new holder with a new code; the
// old code stops working. Of two transfers the later (provider time) wins.
func (p *Processor) applyTransferred(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) (string, error) {
	var d transferData
	if err := json.Unmarshal(ev.Data, &d); err != nil || d.TicketID == "" {
		return "", setAside("invalid_data", "%s needs ticket_id", ev.Type)
	}
	tickets, err := tx.TicketsOfOrder(ctx, d.OrderID)
	if err != nil {
		return "", err
	}
	var t usher.Ticket
	var ok bool
	for _, tk := range tickets {
		if tk.TicketID == d.TicketID {
			t, ok = tk, true
		}
	}
	if !ok {
		return "", setAside("unknown_ticket", "ticket %s is not part of order %s", d.TicketID, d.OrderID)
	}
	if ticketing.StaleTransfer(t.HolderChangedAt, eventTime(ev)) {
		return "stale", nil
	}
	if t.Status != usher.TicketValid {
		return "not_transferable", nil
	}
	_, err = p.transition(ctx, tx, ev, t, ticketing.Transfer)
	return "", err
}

// newTicket makes a ticket of o with a fresh time-ordered id and its code.
func (p *Processor) newTicket(o usher.Order, ticketType, revokedBy string) (usher.Ticket, error) {
	id, err := ticketing.NewTicketID(p.now())
	if err != nil {
		return usher.Ticket{}, err
	}
	t := ticketing.NewTicket(id, o, ticketType, revokedBy)
	if t.Code, err = p.codes.IssueCode(t); err != nil {
		return usher.Ticket{}, err
	}
	return t, nil
}

// mint issues one ticket per seat of the order and saves the order with
// them: the order's row first (the tickets reference it), then the tickets
// in one statement, their feed entries and outbound events, and last the
// order's own outbound event.
func (p *Processor) mint(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, st *orderState, revokedBy string) error {
	var minted []usher.Ticket
	seats := seatsOf(ctx)
	for _, it := range st.order.Items {
		for range it.Quantity {
			if t, ok := takeSeat(&seats, st.order, it.TicketType, revokedBy); ok {
				minted = append(minted, t)
				continue
			}
			t, err := p.newTicket(st.order, it.TicketType, revokedBy)
			if err != nil {
				return err
			}
			minted = append(minted, t)
		}
	}
	st.tickets = append(st.tickets, minted...)
	if err := p.writeOrder(ctx, tx, st); err != nil {
		return err
	}
	if err := tx.InsertTickets(ctx, minted); err != nil {
		return err
	}
	for _, t := range minted {
		if err := p.ticketChanged(ctx, tx, ev, t, ticketing.IssuedType(t)); err != nil {
			return err
		}
	}
	return p.emitStatus(ctx, tx, ev, st)
}

// ticketChanged records a ticket's new state in its venue's feed and as an
// outbound event.
func (p *Processor) ticketChanged(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, t usher.Ticket, outType string) error {
	_, err := tx.AppendTicketChange(ctx, usher.TicketChange{
		VenueID: t.VenueID, TicketID: t.TicketID, ShowID: t.ShowID, Status: string(t.Status),
		CodeHash: ticketing.CodeHash(t.Code), AcceptedAt: ev.ReceivedAt,
	})
	if err != nil {
		return err
	}
	return p.emit(ctx, tx, ev, outType, t.OrderID, t.VenueID, ticketData{
		Generation: t.Generation, OrderID: t.OrderID, RevokedBy: t.RevokedBy, ShowID: t.ShowID, Status: t.Status,
		TicketID: t.TicketID, TicketType: t.TicketType, VenueID: t.VenueID,
	}, t.TicketID, strconv.Itoa(t.Generation), string(t.Status))
}

// ticketData is the data of a ticket's outbound event (fields in the order
// of their names, as a map would encode them).
type ticketData struct {
	Generation int                `json:"generation"`
	OrderID    string             `json:"order_id"`
	RevokedBy  string             `json:"revoked_by"`
	ShowID     string             `json:"show_id"`
	Status     usher.TicketStatus `json:"status"`
	TicketID   string             `json:"ticket_id"`
	TicketType string             `json:"ticket_type"`
	VenueID    string             `json:"venue_id"`
}

func hasTicket(ts []usher.Ticket, id string) bool {
	for _, t := range ts {
		if t.TicketID == id {
			return true
		}
	}
	return false
}
