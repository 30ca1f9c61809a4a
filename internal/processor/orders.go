package processor

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ticketing"
)

// paidData is the data of order.paid.
type paidData struct {
	OrderID string       `json:"order_id"`
	ShowID  string       `json:"show_id"`
	VenueID string       `json:"venue_id"`
	Items   []usher.Item `json:"items"`
	Buyer   usher.Buyer  `json:"buyer"`
	// PaymentIntent is the provider's payment reference, when it has one.
	PaymentIntent string `json:"payment_intent"`
}

// applyPaid reserves the whole order by compare-and-swap on each ticket
// type's inventory and mints one ticket per seat; if any item does not fit,
// the order is oversold and nothing is sold or minted.
func (p *Processor) applyPaid(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) (string, error) {
	var d paidData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return "", setAside("invalid_data", "order.paid data: %v", err)
	}
	if d.OrderID == "" || d.ShowID == "" || d.VenueID == "" {
		return "", setAside("invalid_data", "order.paid needs order_id, show_id and venue_id")
	}
	demand, err := ticketing.Demand(d.Items)
	if err != nil {
		return "", setAside("invalid_data", "order.paid items: %v", err)
	}
	if _, found, err := tx.Order(ctx, d.OrderID); err != nil {
		return "", err
	} else if found {
		return "already_paid", nil
	}
	inv := make(map[string]usher.Inventory, len(demand))
	for _, it := range demand {
		i, found, err := tx.Inventory(ctx, d.ShowID, it.TicketType)
		if err != nil {
			return "", err
		}
		if found {
			inv[it.TicketType] = i
		}
	}
	order := usher.Order{OrderID: d.OrderID, ShowID: d.ShowID, VenueID: d.VenueID, Items: demand, Status: usher.OrderPaid, PaymentRef: d.PaymentIntent}
	fits, why := ticketing.Fits(demand, inv)
	if !fits {
		order.Status = usher.OrderOversold
		if err := tx.InsertOrder(ctx, order, d.Buyer); err != nil {
			return "", err
		}
		return "", p.emit(ctx, tx, ev, "order.oversold", order.OrderID, order.VenueID, map[string]any{
			"order_id": order.OrderID, "show_id": order.ShowID, "reason": why,
		})
	}
	for _, it := range demand {
		if err := tx.SwapSold(ctx, inv[it.TicketType], it.Quantity); err != nil {
			return "", err
		}
	}
	if err := tx.InsertOrder(ctx, order, d.Buyer); err != nil {
		return "", err
	}
	for _, it := range demand {
		for range it.Quantity {
			if err := p.mint(ctx, tx, ev, order, it.TicketType); err != nil {
				return "", err
			}
		}
	}
	return "", p.emit(ctx, tx, ev, "order.confirmed", order.OrderID, order.VenueID, map[string]any{
		"order_id": order.OrderID, "show_id": order.ShowID, "items": demand,
	})
}

func (p *Processor) mint(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, o usher.Order, ticketType string) error {
	id, err := ticketing.NewID("tkt_")
	if err != nil {
		return err
	}
	code, err := ticketing.NewTicketCode()
	if err != nil {
		return err
	}
	t := usher.Ticket{TicketID: id, OrderID: o.OrderID, ShowID: o.ShowID, VenueID: o.VenueID, TicketType: ticketType, Status: usher.TicketValid, Code: code}
	if err := tx.InsertTicket(ctx, t); err != nil {
		return err
	}
	return p.ticketChanged(ctx, tx, ev, t, "ticket.issued")
}

// ticketChanged records a ticket's new state in its venue's feed and as an
// outbound event.
func (p *Processor) ticketChanged(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, t usher.Ticket, outType string) error {
	_, err := tx.AppendTicketChange(ctx, store.TicketChange{
		VenueID: t.VenueID, TicketID: t.TicketID, ShowID: t.ShowID, Status: string(t.Status),
		CodeHash: ticketing.CodeHash(t.Code), AcceptedAt: ev.ReceivedAt,
	})
	if err != nil {
		return err
	}
	return p.emit(ctx, tx, ev, outType, t.OrderID, t.VenueID, map[string]any{
		"ticket_id": t.TicketID, "order_id": t.OrderID, "show_id": t.ShowID, "venue_id": t.VenueID,
		"ticket_type": t.TicketType, "status": t.Status,
	}, t.TicketID)
}

// emit appends an outbound event whose id is derived from the inbound event,
// the outbound type and the entity, so it is stable across re-runs.
func (p *Processor) emit(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, outType, orderID, venueID string, data any, entity ...string) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s: %w", outType, err)
	}
	parts := append([]string{ev.Source, ev.ID, outType}, entity...)
	return tx.AppendOutbox(ctx, store.OutboundEvent{
		ID: ticketing.StableID("evt_", parts...), Type: outType, OrderID: orderID, VenueID: venueID, Data: raw,
	})
}

// refundData is the data of order.refunded and order.chargeback. A provider
// dispute may name only the payment; the order is then found by it.
type refundData struct {
	OrderID       string   `json:"order_id"`
	TicketIDs     []string `json:"ticket_ids"`
	PaymentIntent string   `json:"payment_intent"`
}

// resolveOrder fills d.OrderID from the payment reference when it is missing.
func resolveOrder(ctx context.Context, tx *store.Tx, d *refundData, typ string) error {
	if d.OrderID != "" {
		return nil
	}
	if d.PaymentIntent == "" {
		return setAside("invalid_data", "%s needs order_id or payment_intent", typ)
	}
	id, found, err := tx.OrderIDByPaymentRef(ctx, d.PaymentIntent)
	if err != nil {
		return err
	}
	if !found {
		return setAside("unknown_order", "no order was paid with %s", d.PaymentIntent)
	}
	d.OrderID = id
	return nil
}

// applyRefunded revokes the named tickets (all, when none are named) and
// returns their seats to inventory.
func (p *Processor) applyRefunded(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) (string, error) {
	var d refundData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return "", setAside("invalid_data", "order.refunded data: %v", err)
	}
	if err := resolveOrder(ctx, tx, &d, ev.Type); err != nil {
		return "", err
	}
	order, tickets, err := p.orderOf(ctx, tx, d.OrderID)
	if err != nil {
		return "", err
	}
	targets := tickets
	if len(d.TicketIDs) > 0 {
		targets = targets[:0:0]
		for _, id := range d.TicketIDs {
			t, ok := findTicket(tickets, id)
			if !ok {
				return "", setAside("unknown_ticket", "ticket %s is not part of order %s", id, d.OrderID)
			}
			targets = append(targets, t)
		}
	}
	if err := p.revoke(ctx, tx, ev, targets); err != nil {
		return "", err
	}
	tickets, err = tx.TicketsOfOrder(ctx, d.OrderID)
	if err != nil {
		return "", err
	}
	status := ticketing.RefundStatus(tickets)
	if order.Status == status {
		return "", nil
	}
	return "", tx.SwapOrderStatus(ctx, order, status)
}

// applyChargeback revokes every ticket of the order at once.
func (p *Processor) applyChargeback(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) (string, error) {
	var d refundData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return "", setAside("invalid_data", "order.chargeback data: %v", err)
	}
	if err := resolveOrder(ctx, tx, &d, ev.Type); err != nil {
		return "", err
	}
	order, tickets, err := p.orderOf(ctx, tx, d.OrderID)
	if err != nil {
		return "", err
	}
	if err := p.revoke(ctx, tx, ev, tickets); err != nil {
		return "", err
	}
	if order.Status == usher.OrderChargedBack {
		return "already_charged_back", nil
	}
	return "", tx.SwapOrderStatus(ctx, order, usher.OrderChargedBack)
}

func (p *Processor) orderOf(ctx context.Context, tx *store.Tx, orderID string) (usher.Order, []usher.Ticket, error) {
	order, found, err := tx.Order(ctx, orderID)
	if err != nil {
		return usher.Order{}, nil, err
	}
	if !found {
		return usher.Order{}, nil, setAside("unknown_order", "order %s has not been paid", orderID)
	}
	tickets, err := tx.TicketsOfOrder(ctx, orderID)
	return order, tickets, err
}

// revoke revokes each revocable ticket and returns its seat.
func (p *Processor) revoke(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, tickets []usher.Ticket) error {
	for _, t := range tickets {
		if !ticketing.Revocable(t) {
			continue
		}
		if err := tx.SwapTicketStatus(ctx, t.TicketID, t.Status, usher.TicketRevoked); err != nil {
			return err
		}
		inv, found, err := tx.Inventory(ctx, t.ShowID, t.TicketType)
		if err != nil {
			return err
		}
		if found {
			if err := tx.SwapSold(ctx, inv, -1); err != nil {
				return err
			}
		}
		t.Status = usher.TicketRevoked
		if err := p.ticketChanged(ctx, tx, ev, t, "ticket.revoked"); err != nil {
			return err
		}
	}
	return nil
}

func findTicket(ts []usher.Ticket, id string) (usher.Ticket, bool) {
	for _, t := range ts {
		if t.TicketID == id {
			return t, true
		}
	}
	return usher.Ticket{}, false
}

func venueOf(ev *usher.InboundEvent) string {
	var d struct {
		VenueID string `json:"venue_id"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	return d.VenueID
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}
