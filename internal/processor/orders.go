package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/ticketing"
)

// orderData is the union of the order events' data.
type orderData struct {
	OrderID       string       `json:"order_id"`
	ShowID        string       `json:"show_id"`
	VenueID       string       `json:"venue_id"`
	Items         []usher.Item `json:"items"`
	HoldExpiresAt time.Time    `json:"hold_expires_at"`
	TicketIDs     []string     `json:"ticket_ids"`
	// PaymentIntent is the provider's payment reference; a dispute may name
	// only it, and the order is then found by it.
	PaymentIntent string `json:"payment_intent"`
}

// orderState is an order as a handler reads and writes it.
type orderState struct {
	order   usher.Order
	found   bool
	tickets []usher.Ticket
	before  usher.OrderStatus
}

// openOrder decodes an order event and loads its order. With withItems the
// event must name the order, show, venue and items (order.created,
// order.paid), checked before the order is looked up.
func (p *Processor) openOrder(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, withItems bool) (orderData, []usher.Item, *orderState, error) {
	d, err := p.decodeOrder(ctx, ev)
	if err != nil {
		return d, nil, nil, err
	}
	var demand []usher.Item
	if withItems {
		if demand, err = validOrder(d, ev.Type); err != nil {
			return d, nil, nil, err
		}
	}
	st, err := p.loadOrder(ctx, tx, &d, ev.Type)
	return d, demand, st, err
}

func (p *Processor) decodeOrder(ctx context.Context, ev *usher.InboundEvent) (orderData, error) {
	if pr := preparedOf(ctx); pr != nil && pr.order != nil {
		d := *pr.order
		d.Items, d.TicketIDs = slices.Clone(d.Items), slices.Clone(d.TicketIDs)
		return d, nil
	}
	var d orderData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return d, setAside("invalid_data", "%s data: %v", ev.Type, err)
	}
	return d, nil
}

// loadOrder reads the order named by d, resolving a payment reference; a
// missing order is returned as a stub to be inserted on save.
func (p *Processor) loadOrder(ctx context.Context, tx *store.Tx, d *orderData, typ string) (*orderState, error) {
	if d.OrderID == "" && d.PaymentIntent != "" {
		id, found, err := tx.OrderIDByPaymentRef(ctx, d.PaymentIntent)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, setAside("unknown_order", "no order was paid with %s", d.PaymentIntent)
		}
		d.OrderID = id
	}
	if d.OrderID == "" {
		return nil, setAside("invalid_data", "%s needs order_id", typ)
	}
	o, found, err := tx.Order(ctx, d.OrderID)
	if err != nil {
		return nil, err
	}
	st := &orderState{order: o, found: found, before: o.Status}
	if !found {
		st.order = usher.Order{OrderID: d.OrderID, Status: usher.OrderPending}
		return st, nil
	}
	st.tickets, err = tx.TicketsOfOrder(ctx, d.OrderID)
	return st, err
}

// fill completes a stub order (one known only through an earlier refund,
// dispute or cancel) with the details an order.created or order.paid brings.
func (st *orderState) fill(d orderData, demand []usher.Item) {
	if st.order.ShowID == "" {
		st.order.ShowID, st.order.VenueID, st.order.Items = d.ShowID, d.VenueID, demand
	}
	if st.order.PaymentRef == "" {
		st.order.PaymentRef = d.PaymentIntent
	}
}

func (st *orderState) holdActive() bool { return len(st.order.HeldItems) > 0 }

// save derives the status from the facts, writes the order and emits an
// outbound event when the status changed.
func (p *Processor) save(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, st *orderState) error {
	if err := p.writeOrder(ctx, tx, st); err != nil {
		return err
	}
	return p.emitStatus(ctx, tx, ev, st)
}

// writeOrder derives the status from the facts and writes the order.
func (p *Processor) writeOrder(ctx context.Context, tx *store.Tx, st *orderState) error {
	o := &st.order
	o.Status = ticketing.OrderStatus(o.OrderFacts, st.tickets, st.holdActive())
	if !st.found {
		// The buyer is in the vault only (see vaultAndStrip); the order's
		// own buyer columns stay empty.
		if err := tx.InsertOrder(ctx, *o, usher.Buyer{}); err != nil {
			return err
		}
		st.found, o.Version = true, 1
		return nil
	}
	return tx.UpdateOrder(ctx, *o)
}

// orderStatusData is the data of an order's outbound status event (fields
// in the order of their names, as a map would encode them).
type orderStatusData struct {
	OrderID        string            `json:"order_id"`
	PreviousStatus usher.OrderStatus `json:"previous_status"`
	ShowID         string            `json:"show_id"`
	Status         usher.OrderStatus `json:"status"`
	VenueID        string            `json:"venue_id"`
}

// emitStatus emits an outbound event when the order's status changed.
func (p *Processor) emitStatus(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, st *orderState) error {
	o := &st.order
	if o.Status == st.before {
		return nil
	}
	data := orderStatusData{OrderID: o.OrderID, PreviousStatus: st.before, ShowID: o.ShowID, Status: o.Status, VenueID: o.VenueID}
	if err := p.emit(ctx, tx, ev, usher.OrderEventType(o.Status), o.OrderID, o.VenueID, data); err != nil {
		return err
	}
	if o.Status == usher.OrderOversold && !o.PaidAt.IsZero() {
		// Money taken, no seat: the operator must refund.
		return p.emit(ctx, tx, ev, usher.TypeOrderNeedsRefund, o.OrderID, o.VenueID, data)
	}
	return nil
}

// applyCreated records an order and holds its seats until it expires.
func (p *Processor) applyCreated(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) (string, error) {
	d, demand, st, err := p.openOrder(ctx, tx, ev, true)
	if err != nil {
		return "", err
	}
	if st.found && st.order.ShowID != "" {
		return "already_known", nil
	}
	st.fill(d, demand)
	if ticketing.ShouldHold(st.order.OrderFacts) {
		held, err := p.reserve(ctx, tx, st.order.ShowID, demand, false)
		if err != nil {
			return "", err
		}
		if held {
			st.order.HeldItems = demand
			st.order.HoldExpiresAt = ticketing.HoldExpiry(d.HoldExpiresAt, ev.ReceivedAt)
		}
	}
	return "", p.save(ctx, tx, ev, st)
}

// applyPaid sells the order's seats (turning its hold into a sale, or taking
// free seats by compare-and-swap) and mints one ticket per seat. With no
// seat to be had the order is oversold and needs a refund. A refund or
// dispute that came first is applied at once: its tickets are minted
// revoked and are never valid.
func (p *Processor) applyPaid(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) (string, error) {
	d, demand, st, err := p.openOrder(ctx, tx, ev, true)
	if err != nil {
		return "", err
	}
	if !st.order.PaidAt.IsZero() {
		return "already_paid", nil
	}
	st.fill(d, demand)
	o := &st.order
	o.PaidAt = eventTime(ev)
	revokedBy := ticketing.PaidRevocation(o.OrderFacts)
	hadHold := st.holdActive()
	if err := p.releaseHold(ctx, tx, st, revokedBy == "" && hadHold); err != nil {
		return "", err
	}
	sold := hadHold && revokedBy == ""
	switch {
	case !sold && revokedBy == "":
		if sold, err = p.reserve(ctx, tx, o.ShowID, o.Items, true); err != nil {
			return "", err
		}
	case revokedBy != "":
		// Mint the tickets already revoked only if the seats were there to
		// sell, as in-order events would have sold and then revoked them.
		fits, err := p.fits(ctx, tx, o.ShowID, o.Items, hadHold)
		if err != nil {
			return "", err
		}
		if !fits {
			revokedBy = ""
		}
	}
	if sold || revokedBy != "" {
		return "", p.mint(ctx, tx, ev, st, revokedBy)
	}
	return "", p.save(ctx, tx, ev, st)
}

// fits reports whether the items could be sold now; seats the order itself
// held until a moment ago count as free.
func (p *Processor) fits(ctx context.Context, tx *store.Tx, showID string, demand []usher.Item, heldByOrder bool) (bool, error) {
	inv, err := inventoryOf(ctx, tx, showID, demand)
	if err != nil {
		return false, err
	}
	ok, _ := ticketing.Fits(demand, inv)
	return ok || heldByOrder, nil
}

// inventoryOf reads the inventory of each demanded ticket type that exists.
func inventoryOf(ctx context.Context, tx *store.Tx, showID string, demand []usher.Item) (map[string]usher.Inventory, error) {
	inv := make(map[string]usher.Inventory, len(demand))
	for _, it := range demand {
		i, found, err := tx.Inventory(ctx, showID, it.TicketType)
		if err != nil {
			return nil, err
		}
		if found {
			inv[it.TicketType] = i
		}
	}
	return inv, nil
}

// reserve takes seats for every item or none: held seats for a hold (sale
// false), sold seats for a sale. It reports whether they fit.
func (p *Processor) reserve(ctx context.Context, tx *store.Tx, showID string, demand []usher.Item, sale bool) (bool, error) {
	inv, err := inventoryOf(ctx, tx, showID, demand)
	if err != nil {
		return false, err
	}
	if ok, _ := ticketing.Fits(demand, inv); !ok {
		return false, nil
	}
	for _, it := range demand {
		sold, held := ticketing.Reservation(it, sale)
		if err := tx.SwapInventory(ctx, inv[it.TicketType], sold, held); err != nil {
			return false, err
		}
	}
	return true, nil
}

// releaseHold ends an active hold: its seats become sold (toSale) or free.
func (p *Processor) releaseHold(ctx context.Context, tx *store.Tx, st *orderState, toSale bool) error {
	for _, it := range st.order.HeldItems {
		inv, found, err := tx.Inventory(ctx, st.order.ShowID, it.TicketType)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("held inventory %s/%s is gone: %w", st.order.ShowID, it.TicketType, usher.ErrConflict)
		}
		sold := 0
		if toSale {
			sold = it.Quantity
		}
		if err := tx.SwapInventory(ctx, inv, sold, -it.Quantity); err != nil {
			return err
		}
	}
	st.order.HeldItems, st.order.HoldExpiresAt = nil, time.Time{}
	return nil
}

// applyUnpaid handles order.canceled, order.expired and
// order.payment_failed: before a payment they release the hold; after one
// they change nothing (the provider's payment wins).
func (p *Processor) applyUnpaid(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, reason usher.OrderStatus) (string, error) {
	_, _, st, err := p.openOrder(ctx, tx, ev, false)
	if err != nil {
		return "", err
	}
	if !st.order.PaidAt.IsZero() {
		return "already_paid", nil
	}
	if err := p.releaseHold(ctx, tx, st, false); err != nil {
		return "", err
	}
	st.order.UnpaidReason = ticketing.UnpaidReason(st.order.UnpaidReason, reason)
	return "", p.save(ctx, tx, ev, st)
}

// applyRefunded revokes the named tickets, or all of them, and returns their
// seats. Before the payment a full refund is kept as a fact.
func (p *Processor) applyRefunded(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) (string, error) {
	d, _, st, err := p.openOrder(ctx, tx, ev, false)
	if err != nil {
		return "", err
	}
	if st.order.PaidAt.IsZero() && len(d.TicketIDs) > 0 {
		return "", setAside("unknown_ticket", "refund names tickets of unpaid order %s", st.order.OrderID)
	}
	targets := map[string]bool{}
	for _, id := range d.TicketIDs {
		if !hasTicket(st.tickets, id) {
			return "", setAside("unknown_ticket", "ticket %s is not part of order %s", id, st.order.OrderID)
		}
		targets[id] = true
	}
	if len(targets) == 0 {
		st.order.RefundAll = true
	}
	for i, t := range st.tickets {
		if len(targets) > 0 && !targets[t.TicketID] {
			continue
		}
		if st.tickets[i], err = p.transition(ctx, tx, ev, t, ticketing.Refund); err != nil {
			return "", err
		}
	}
	return "", p.save(ctx, tx, ev, st)
}

// applyChargeback opens a dispute: every ticket is revoked at once and its
// seat returned. Disputes and reversals are counted, so that they commute.
func (p *Processor) applyChargeback(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) (string, error) {
	_, _, st, err := p.openOrder(ctx, tx, ev, false)
	if err != nil {
		return "", err
	}
	st.order.Chargebacks++
	if st.order.Chargebacks > 0 {
		for i, t := range st.tickets {
			if !ticketing.HoldsSeat(t) {
				continue
			}
			if st.tickets[i], err = p.transition(ctx, tx, ev, t, ticketing.Dispute); err != nil {
				return "", err
			}
		}
	}
	return "", p.save(ctx, tx, ev, st)
}

// applyChargebackReversed closes a dispute: the tickets it revoked are
// reinstated with new codes (the revoked codes never work again) if their
// seats can be taken back; otherwise the order is oversold.
func (p *Processor) applyChargebackReversed(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) (string, error) {
	_, _, st, err := p.openOrder(ctx, tx, ev, false)
	if err != nil {
		return "", err
	}
	st.order.Chargebacks--
	if st.order.Chargebacks == 0 {
		for i, t := range st.tickets {
			if t.Status != usher.TicketRevoked || t.RevokedBy != usher.RevokedByChargeback {
				continue
			}
			if st.tickets[i], err = p.transition(ctx, tx, ev, t, ticketing.Reinstate); errors.Is(err, errNoSeat) {
				continue // stays revoked; the order becomes oversold
			} else if err != nil {
				return "", err
			}
		}
	}
	return "", p.save(ctx, tx, ev, st)
}

// adjustData is the data of inventory.adjusted.
type adjustData struct {
	ShowID     string `json:"show_id"`
	TicketType string `json:"ticket_type"`
	Capacity   *int   `json:"capacity"`
}

// applyInventoryAdjusted changes a capacity, never below what is sold or
// held; of two adjustments the later (provider time) wins.
func (p *Processor) applyInventoryAdjusted(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) (string, error) {
	var d adjustData
	if err := json.Unmarshal(ev.Data, &d); err != nil || d.ShowID == "" || d.TicketType == "" || d.Capacity == nil || *d.Capacity < 0 {
		return "", setAside("invalid_data", "%s needs show_id, ticket_type and a capacity of 0 or more", ev.Type)
	}
	stale, err := tx.AdjustCapacity(ctx, d.ShowID, d.TicketType, *d.Capacity, eventTime(ev))
	if usher.ErrorCode(err) == usher.CodeConflict {
		return "", setAside("capacity_below_sold", "%s", usher.ErrorMessage(err))
	}
	if err != nil {
		return "", err
	}
	if stale {
		return "stale", nil
	}
	return "", p.emit(ctx, tx, ev, usher.TypeInventoryChanged, "", "", map[string]any{"show_id": d.ShowID, "ticket_type": d.TicketType, "capacity": *d.Capacity})
}

func validOrder(d orderData, typ string) ([]usher.Item, error) {
	if d.OrderID == "" || d.ShowID == "" || d.VenueID == "" {
		return nil, setAside("invalid_data", "%s needs order_id, show_id and venue_id", typ)
	}
	demand, err := ticketing.Demand(d.Items)
	if err != nil {
		return nil, setAside("invalid_data", "%s items: %v", typ, err)
	}
	return demand, nil
}

// eventTime is the provider's time of an event, or its acceptance time.
func eventTime(ev *usher.InboundEvent) time.Time {
	if ev.Timestamp.IsZero() {
		return ev.ReceivedAt
	}
	return ev.Timestamp
}

// emit appends an outbound event whose id is derived from the inbound event,
// the outbound type and the entity, so it is stable across re-runs.
func (p *Processor) emit(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, outType, orderID, venueID string, data any, entity ...string) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s: %w", outType, err)
	}
	parts := append([]string{ev.Source, ev.ID, outType}, entity...)
	return tx.AppendOutbox(ctx, usher.OutboundEvent{
		ID: ticketing.StableID("evt_", parts...), Type: outType, OrderID: orderID, VenueID: venueID, Data: raw,
		TraceParent: telemetry.TraceParent(ctx),
	})
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
