package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/usherhq/usher"
)

// txOrder is an order as a transaction knows it: read (found or not) by
// PrefetchOrders or Order, or inserted by InsertOrder, then kept up to date
// by the transaction's own writes. Its tickets are known when they were
// read with it or when the order is new.
type txOrder struct {
	o            usher.Order
	found        bool
	tickets      []usher.Ticket
	ticketsKnown bool
	buyer        usher.Buyer // of an order inserted by this transaction
	held         bool        // inserted by this transaction, row not written yet
}

// ordersTable holds back new orders until the commit (or until a statement
// of the transaction might read them): rows are built from the cache then,
// so an order inserted and changed in one transaction is written once.
var ordersTable = &rowTable{name: "orders", columns: []string{"order_id", "show_id", "venue_id", "status", "items",
	"buyer_email", "buyer_name", "payment_ref", "held_items", "hold_expires_at", "paid_at", "unpaid_reason", "refund_all",
	"chargebacks", "version", "created_at", "updated_at"}}

// PrefetchOrders reads the orders of ids, and the tickets of those found,
// in a few statements; Order and TicketsOfOrder then answer for them from
// memory.
func (tx *Tx) PrefetchOrders(ctx context.Context, ids []string) error {
	if tx.orders == nil {
		tx.orders = make(map[string]*txOrder, len(ids))
	}
	args := make([]any, 0, len(ids))
	for _, id := range ids {
		if _, ok := tx.orders[id]; !ok && bulkReadable(id) {
			tx.orders[id] = &txOrder{ticketsKnown: true} // not found until read
			args = append(args, id)
		}
	}
	return inChunks(args, func(ids []any) error { return tx.readOrders(ctx, ids) })
}

// inChunks calls read with args in pieces of a power of two up to
// maxRowsPerInsert, so that a few statements serve every size and stay
// prepared.
func inChunks(args []any, read func([]any) error) error {
	for len(args) > 0 {
		n := maxRowsPerInsert
		for n > len(args) {
			n /= 2
		}
		if err := read(args[:n]); err != nil {
			return err
		}
		args = args[n:]
	}
	return nil
}

// bulkReadable reports whether id may go into a read of many rows: an id
// an engine refuses to even compare (PostgreSQL: a NUL byte, invalid
// UTF-8), or one far longer than any real id, would fail the read of the
// whole batch. Such an id is left out of the prefetch and read alone, where
// the engine's refusal belongs to its own event, which is set aside.
func bulkReadable(id string) bool {
	return id != "" && len(id) <= maxBulkID && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// maxBulkID bounds the ids read in bulk.
const maxBulkID = 512

// readOrders reads the orders of ids and their tickets into the cache.
func (tx *Tx) readOrders(ctx context.Context, ids []any) error {
	in := tx.placeholders(len(ids))
	rows, err := tx.QueryContext(ctx, orderColumns+` WHERE order_id IN (`+in+`)`, ids...)
	if err != nil {
		return fmt.Errorf("read orders: %w", err)
	}
	defer rows.Close()
	var found []any
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return fmt.Errorf("read order: %w", err)
		}
		tx.orders[o.OrderID] = &txOrder{o: o, found: true, ticketsKnown: true}
		found = append(found, o.OrderID)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read orders: %w", err)
	}
	if len(found) == 0 {
		return nil
	}
	ts, err := queryTickets(ctx, tx, ticketColumns+` WHERE order_id IN (`+tx.placeholders(len(found))+`) ORDER BY order_id, ticket_id`, found...)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if e := tx.orders[t.OrderID]; e != nil {
			e.tickets = append(e.tickets, t)
		}
	}
	return nil
}

// Order returns an order without its tickets, inside the transaction.
func (tx *Tx) Order(ctx context.Context, orderID string) (usher.Order, bool, error) {
	if e, ok := tx.orders[orderID]; ok {
		return cloneOrder(e.o), e.found, nil
	}
	o, err := scanOrder(tx.queryRow(ctx, orderColumns+` WHERE order_id = $1`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return usher.Order{}, false, nil
	}
	if err != nil {
		return usher.Order{}, false, fmt.Errorf("read order: %w", err)
	}
	tx.cacheOrder(&txOrder{o: o, found: true})
	return cloneOrder(o), true, nil
}

func (tx *Tx) cacheOrder(e *txOrder) {
	if tx.orders == nil {
		tx.orders = map[string]*txOrder{}
	}
	tx.orders[e.o.OrderID] = e
}

// cloneOrder copies o so that a caller's changes to its items stay its own.
func cloneOrder(o usher.Order) usher.Order {
	o.Items, o.HeldItems = slices.Clone(o.Items), slices.Clone(o.HeldItems)
	return o
}

// storedOrder is o as a read of its row returns it: a copy, its times in
// whole microseconds, UTC (what the cache holds must not depend on whether
// the row was read back or kept in memory).
func storedOrder(o usher.Order) usher.Order {
	o = cloneOrder(o)
	o.HoldExpiresAt, o.PaidAt = asStored(o.HoldExpiresAt), asStored(o.PaidAt)
	o.CreatedAt, o.UpdatedAt = asStored(o.CreatedAt), asStored(o.UpdatedAt)
	return o
}

func asStored(t time.Time) time.Time { return fromMicros(micros(t)) }

// OrderIDByPaymentRef finds the order paid with a provider payment reference;
// found is false when none was.
func (tx *Tx) OrderIDByPaymentRef(ctx context.Context, ref string) (string, bool, error) {
	var id string
	err := tx.queryRow(ctx, `SELECT order_id FROM orders WHERE payment_ref = $1 ORDER BY created_at LIMIT 1`, ref).Scan(&id)
	if isNoRows(err) || ref == "" {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("order by payment ref: %w", err)
	}
	return id, true, nil
}

// InsertOrder creates an order at version 1. The row is written with the
// transaction's other new rows; an order the transaction already knows
// fails at once with ErrConflict, one that another processor commits
// meanwhile fails on the primary key when the row is written, with
// ErrConflict too.
func (tx *Tx) InsertOrder(ctx context.Context, o usher.Order, buyer usher.Buyer) error {
	if _, found, err := tx.Order(ctx, o.OrderID); err != nil {
		return err
	} else if found {
		return fmt.Errorf("insert order %s: %w", o.OrderID, usher.ErrConflict)
	}
	now := tx.db.now()
	o.Version, o.CreatedAt, o.UpdatedAt = 1, now, now
	o = storedOrder(o)
	tx.cacheOrder(&txOrder{o: o, found: true, tickets: []usher.Ticket{}, ticketsKnown: true, buyer: buyer, held: true})
	tx.pend.orders = append(tx.pend.orders, o.OrderID)
	tx.writes++
	return nil
}

// flushOrders writes the orders held back, as the cache has them now.
func (tx *Tx) flushOrders(ctx context.Context) error {
	if len(tx.pend.orders) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(tx.pend.orders))
	for _, id := range tx.pend.orders {
		e := tx.orders[id]
		o := e.o
		items, held, err := encodeItems(o)
		if err != nil {
			return err
		}
		e.held = false
		rows = append(rows, []any{o.OrderID, o.ShowID, o.VenueID, string(o.Status), string(items), e.buyer.Email, e.buyer.Name,
			o.PaymentRef, string(held), micros(o.HoldExpiresAt), micros(o.PaidAt), o.UnpaidReason, sqlBool(o.RefundAll),
			o.Chargebacks, o.Version, micros(o.CreatedAt), micros(o.UpdatedAt)})
	}
	if err := tx.insertRows(ctx, ordersTable, rows); err != nil {
		if tx.db.dialect.UniqueViolation(err) {
			return fmt.Errorf("insert order: %w", usher.ErrConflict)
		}
		return fmt.Errorf("insert order: %w", err)
	}
	tx.pend.orders = tx.pend.orders[:0]
	return nil
}

// encodeItems returns the JSON of an order's items and held items.
func encodeItems(o usher.Order) (items, held []byte, err error) {
	if items, err = json.Marshal(o.Items); err != nil {
		return nil, nil, fmt.Errorf("encode items: %w", err)
	}
	if held, err = json.Marshal(o.HeldItems); err != nil {
		return nil, nil, fmt.Errorf("encode held items: %w", err)
	}
	return items, held, nil
}

// UpdateOrder writes every mutable field of o if the row is still at
// o.Version, and fails with ErrConflict otherwise. An order inserted by this
// transaction and not written yet changes in memory.
func (tx *Tx) UpdateOrder(ctx context.Context, o usher.Order) error {
	e := tx.orders[o.OrderID]
	if e != nil && e.held {
		if e.o.Version != o.Version {
			return fmt.Errorf("order %s at version %d: %w", o.OrderID, o.Version, usher.ErrConflict)
		}
		created := e.o.CreatedAt
		e.o = storedOrder(o)
		e.o.Version, e.o.CreatedAt, e.o.UpdatedAt = o.Version+1, created, asStored(tx.db.now())
		tx.writes++
		return nil
	}
	items, held, err := encodeItems(o)
	if err != nil {
		return err
	}
	now := micros(tx.db.now())
	res, err := tx.exec(ctx, `UPDATE orders SET show_id = $1, venue_id = $2, status = $3, items = $4, payment_ref = $5,
		held_items = $6, hold_expires_at = $7, paid_at = $8, unpaid_reason = $9, refund_all = $10, chargebacks = $11,
		version = version + 1, updated_at = $12
		WHERE order_id = $13 AND version = $14`,
		o.ShowID, o.VenueID, string(o.Status), string(items), o.PaymentRef, string(held), micros(o.HoldExpiresAt),
		micros(o.PaidAt), o.UnpaidReason, sqlBool(o.RefundAll), o.Chargebacks, now, o.OrderID, o.Version)
	if err != nil {
		return fmt.Errorf("update order: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("order %s at version %d: %w", o.OrderID, o.Version, usher.ErrConflict)
	}
	if e != nil {
		created := e.o.CreatedAt
		e.o = storedOrder(o)
		e.o.Version, e.o.CreatedAt, e.o.UpdatedAt = o.Version+1, created, fromMicros(now)
	}
	return nil
}

// TicketsOfOrder lists an order's tickets inside the transaction.
func (tx *Tx) TicketsOfOrder(ctx context.Context, orderID string) ([]usher.Ticket, error) {
	if e, ok := tx.orders[orderID]; ok && e.ticketsKnown {
		return slices.Clone(e.tickets), nil
	}
	ts, err := queryTickets(ctx, tx, ticketColumns+` WHERE order_id = $1 ORDER BY ticket_id`, orderID)
	if err != nil {
		return nil, err
	}
	if e, ok := tx.orders[orderID]; ok {
		e.tickets, e.ticketsKnown = slices.Clone(ts), true
	}
	return ts, nil
}

// TicketByID returns one ticket inside the transaction, or a
// usher.CodeNotFound error.
func (tx *Tx) TicketByID(ctx context.Context, ticketID string) (usher.Ticket, error) {
	ts, err := queryTickets(ctx, tx, ticketColumns+` WHERE ticket_id = $1`, ticketID)
	if err != nil {
		return usher.Ticket{}, err
	}
	if len(ts) == 0 {
		return usher.Ticket{}, notFound("ticket", ticketID)
	}
	return ts[0], nil
}

// InsertTicket creates a ticket.
func (tx *Tx) InsertTicket(ctx context.Context, t usher.Ticket) error {
	return tx.InsertTickets(ctx, []usher.Ticket{t})
}

// InsertTickets creates tickets. Their rows are written with the
// transaction's other new rows.
func (tx *Tx) InsertTickets(ctx context.Context, ts []usher.Ticket) error {
	now := tx.db.now()
	for _, t := range ts {
		if t.Generation == 0 {
			t.Generation = 1
		}
		// The cache holds the ticket as its row will read back (the row
		// starts with no holder change and no use before a revocation).
		t.CreatedAt, t.UpdatedAt = asStored(now), asStored(now)
		t.HolderChangedAt, t.UsedBeforeRevocation = time.Time{}, false
		tx.pend.tickets = append(tx.pend.tickets, []any{t.TicketID, t.OrderID, t.ShowID, t.VenueID, t.TicketType,
			string(t.Status), t.Code, t.Generation, t.RevokedBy, micros(now), micros(now)})
		if e, ok := tx.orders[t.OrderID]; ok && e.ticketsKnown {
			i, _ := slices.BinarySearchFunc(e.tickets, t.TicketID, func(a usher.Ticket, id string) int { return cmpString(a.TicketID, id) })
			e.tickets = slices.Insert(e.tickets, i, t)
		}
	}
	tx.writes++
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// flushTickets writes the tickets held back.
func (tx *Tx) flushTickets(ctx context.Context) error {
	if len(tx.pend.tickets) == 0 {
		return nil
	}
	if err := tx.insertRows(ctx, ticketTable, tx.pend.tickets); err != nil {
		if tx.db.dialect.UniqueViolation(err) {
			// An id or code already taken (two tickets of one millisecond
			// drew the same id): the transaction runs again and mints anew.
			return fmt.Errorf("insert ticket: %w: %w", usher.ErrConflict, err)
		}
		return fmt.Errorf("insert ticket: %w", err)
	}
	tx.pend.tickets = tx.pend.tickets[:0]
	return nil
}

// UpdateTicket writes a ticket's status, code, generation and revocation
// marks if it is still in from at its generation, else ErrConflict.
func (tx *Tx) UpdateTicket(ctx context.Context, t usher.Ticket, from usher.TicketStatus, fromGeneration int) error {
	now := micros(tx.db.now())
	res, err := tx.exec(ctx, `UPDATE tickets SET status = $1, code = $2, generation = $3, revoked_by = $4, used_before_revocation = $5,
		holder_changed_at = $6, updated_at = $7 WHERE ticket_id = $8 AND status = $9 AND generation = $10`,
		string(t.Status), t.Code, t.Generation, t.RevokedBy, sqlBool(t.UsedBeforeRevocation), micros(t.HolderChangedAt),
		now, t.TicketID, string(from), fromGeneration)
	if err != nil {
		return fmt.Errorf("update ticket: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("ticket %s not %s at generation %d: %w", t.TicketID, from, fromGeneration, usher.ErrConflict)
	}
	tx.cachedTicket(t.OrderID, t.TicketID, func(c *usher.Ticket) {
		c.Status, c.Code, c.Generation, c.RevokedBy = t.Status, t.Code, t.Generation, t.RevokedBy
		c.UsedBeforeRevocation, c.HolderChangedAt, c.UpdatedAt = t.UsedBeforeRevocation, asStored(t.HolderChangedAt), fromMicros(now)
	})
	return nil
}

// SwapTicketStatus moves a ticket from one status to another, failing with
// ErrConflict when it is no longer in from.
func (tx *Tx) SwapTicketStatus(ctx context.Context, ticketID string, from, to usher.TicketStatus) error {
	now := micros(tx.db.now())
	res, err := tx.exec(ctx, `UPDATE tickets SET status = $1, updated_at = $2 WHERE ticket_id = $3 AND status = $4`,
		string(to), now, ticketID, string(from))
	if err != nil {
		return fmt.Errorf("update ticket status: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("ticket %s not %s: %w", ticketID, from, usher.ErrConflict)
	}
	tx.cachedTicket("", ticketID, func(c *usher.Ticket) { c.Status, c.UpdatedAt = to, fromMicros(now) })
	return nil
}

// cachedTicket applies change to the transaction's copy of a ticket, if it
// holds one; orderID, when known, saves a search of every order held.
func (tx *Tx) cachedTicket(orderID, ticketID string, change func(*usher.Ticket)) {
	find := func(e *txOrder) bool {
		for i := range e.tickets {
			if e.tickets[i].TicketID == ticketID {
				change(&e.tickets[i])
				return true
			}
		}
		return false
	}
	if orderID != "" {
		if e, ok := tx.orders[orderID]; ok {
			find(e)
		}
		return
	}
	for _, e := range tx.orders {
		if find(e) {
			return
		}
	}
}
