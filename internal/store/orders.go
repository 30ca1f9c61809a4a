package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/usherhq/usher"
)

// Order returns an order without its tickets, inside the transaction.
func (tx *Tx) Order(ctx context.Context, orderID string) (usher.Order, bool, error) {
	o, err := scanOrder(tx.queryRow(ctx, orderColumns+` WHERE order_id = $1`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return usher.Order{}, false, nil
	}
	if err != nil {
		return usher.Order{}, false, fmt.Errorf("read order: %w", err)
	}
	return o, true, nil
}

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

// InsertOrder creates an order at version 1.
func (tx *Tx) InsertOrder(ctx context.Context, o usher.Order, buyer usher.Buyer) error {
	items, err := json.Marshal(o.Items)
	if err != nil {
		return fmt.Errorf("encode items: %w", err)
	}
	now := micros(tx.db.now())
	held, err := json.Marshal(o.HeldItems)
	if err != nil {
		return fmt.Errorf("encode held items: %w", err)
	}
	_, err = tx.exec(ctx, `INSERT INTO orders (order_id, show_id, venue_id, status, items, buyer_email, buyer_name, payment_ref,
		held_items, hold_expires_at, paid_at, unpaid_reason, refund_all, chargebacks, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15)`,
		o.OrderID, o.ShowID, o.VenueID, string(o.Status), string(items), buyer.Email, buyer.Name, o.PaymentRef,
		string(held), micros(o.HoldExpiresAt), micros(o.PaidAt), o.UnpaidReason, sqlBool(o.RefundAll), o.Chargebacks, now)
	if err != nil {
		if tx.db.dialect.UniqueViolation(err) {
			return fmt.Errorf("insert order %s: %w", o.OrderID, usher.ErrConflict)
		}
		return fmt.Errorf("insert order: %w", err)
	}
	return nil
}

// UpdateOrder writes every mutable field of o if the row is still at
// o.Version, and fails with ErrConflict otherwise.
func (tx *Tx) UpdateOrder(ctx context.Context, o usher.Order) error {
	items, err := json.Marshal(o.Items)
	if err != nil {
		return fmt.Errorf("encode items: %w", err)
	}
	held, err := json.Marshal(o.HeldItems)
	if err != nil {
		return fmt.Errorf("encode held items: %w", err)
	}
	res, err := tx.exec(ctx, `UPDATE orders SET show_id = $1, venue_id = $2, status = $3, items = $4, payment_ref = $5,
		held_items = $6, hold_expires_at = $7, paid_at = $8, unpaid_reason = $9, refund_all = $10, chargebacks = $11,
		version = version + 1, updated_at = $12
		WHERE order_id = $13 AND version = $14`,
		o.ShowID, o.VenueID, string(o.Status), string(items), o.PaymentRef, string(held), micros(o.HoldExpiresAt),
		micros(o.PaidAt), o.UnpaidReason, sqlBool(o.RefundAll), o.Chargebacks, micros(tx.db.now()), o.OrderID, o.Version)
	if err != nil {
		return fmt.Errorf("update order: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("order %s at version %d: %w", o.OrderID, o.Version, usher.ErrConflict)
	}
	return nil
}

// UpdateTicket writes a ticket's status, code, generation and revocation
// marks if it is still in from at its generation, else ErrConflict.
func (tx *Tx) UpdateTicket(ctx context.Context, t usher.Ticket, from usher.TicketStatus, fromGeneration int) error {
	res, err := tx.exec(ctx, `UPDATE tickets SET status = $1, code = $2, generation = $3, revoked_by = $4, used_before_revocation = $5,
		holder_changed_at = $6, updated_at = $7 WHERE ticket_id = $8 AND status = $9 AND generation = $10`,
		string(t.Status), t.Code, t.Generation, t.RevokedBy, sqlBool(t.UsedBeforeRevocation), micros(t.HolderChangedAt),
		micros(tx.db.now()), t.TicketID, string(from), fromGeneration)
	if err != nil {
		return fmt.Errorf("update ticket: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("ticket %s not %s at generation %d: %w", t.TicketID, from, fromGeneration, usher.ErrConflict)
	}
	return nil
}

// ExpiredHolds lists unpaid orders whose hold lapsed before now.
func (db *DB) ExpiredHolds(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT order_id FROM orders WHERE hold_expires_at > 0 AND hold_expires_at < $1
		AND paid_at = 0 AND held_items <> '' AND held_items <> 'null' ORDER BY hold_expires_at LIMIT $2`, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("expired holds: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan expired hold: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func sqlBool(b bool) int {
	if b {
		return 1
	}
	return 0
}

// InsertTicket creates a ticket.
func (tx *Tx) InsertTicket(ctx context.Context, t usher.Ticket) error {
	return tx.InsertTickets(ctx, []usher.Ticket{t})
}

// InsertTickets creates tickets, in multi-row statements.
func (tx *Tx) InsertTickets(ctx context.Context, ts []usher.Ticket) error {
	now := micros(tx.db.now())
	rows := make([][]any, len(ts))
	for i, t := range ts {
		if t.Generation == 0 {
			t.Generation = 1
		}
		rows[i] = []any{t.TicketID, t.OrderID, t.ShowID, t.VenueID, t.TicketType, string(t.Status), t.Code, t.Generation, t.RevokedBy, now, now}
	}
	tx.writes++
	if err := tx.insertRows(ctx, ticketTable, rows); err != nil {
		return fmt.Errorf("insert ticket: %w", err)
	}
	return nil
}

// SwapTicketStatus moves a ticket from one status to another, failing with
// ErrConflict when it is no longer in from.
func (tx *Tx) SwapTicketStatus(ctx context.Context, ticketID string, from, to usher.TicketStatus) error {
	res, err := tx.exec(ctx, `UPDATE tickets SET status = $1, updated_at = $2 WHERE ticket_id = $3 AND status = $4`,
		string(to), micros(tx.db.now()), ticketID, string(from))
	if err != nil {
		return fmt.Errorf("update ticket status: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("ticket %s not %s: %w", ticketID, from, usher.ErrConflict)
	}
	return nil
}

// TicketsOfOrder lists an order's tickets inside the transaction.
func (tx *Tx) TicketsOfOrder(ctx context.Context, orderID string) ([]usher.Ticket, error) {
	return queryTickets(ctx, tx, ticketColumns+` WHERE order_id = $1 ORDER BY ticket_id`, orderID)
}

// OrderWithTickets returns an order and its tickets, or a usher.CodeNotFound error.
func (db *DB) OrderWithTickets(ctx context.Context, orderID string) (usher.Order, error) {
	o, err := scanOrder(db.read.QueryRowContext(ctx, orderColumns+` WHERE order_id = $1`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return usher.Order{}, notFound("order", orderID)
	}
	if err != nil {
		return usher.Order{}, fmt.Errorf("read order: %w", err)
	}
	o.Tickets, err = queryTickets(ctx, db.read, ticketColumns+` WHERE order_id = $1 ORDER BY ticket_id`, orderID)
	return o, err
}

// Ticket returns one ticket, or a usher.CodeNotFound error.
func (db *DB) Ticket(ctx context.Context, ticketID string) (usher.Ticket, error) {
	ts, err := queryTickets(ctx, db.read, ticketColumns+` WHERE ticket_id = $1`, ticketID)
	if err != nil {
		return usher.Ticket{}, err
	}
	if len(ts) == 0 {
		return usher.Ticket{}, notFound("ticket", ticketID)
	}
	return ts[0], nil
}

// CountTickets returns the number of tickets per (show, ticket type, status).
func (db *DB) CountTickets(ctx context.Context) (map[[3]string]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT show_id, ticket_type, status, COUNT(*) FROM tickets GROUP BY show_id, ticket_type, status`)
	if err != nil {
		return nil, fmt.Errorf("count tickets: %w", err)
	}
	defer rows.Close()
	out := map[[3]string]int{}
	for rows.Next() {
		var k [3]string
		var n int
		if err := rows.Scan(&k[0], &k[1], &k[2], &n); err != nil {
			return nil, fmt.Errorf("scan ticket count: %w", err)
		}
		out[k] = n
	}
	return out, rows.Err()
}

const orderColumns = `SELECT order_id, show_id, venue_id, status, items, payment_ref,
	held_items, hold_expires_at, paid_at, unpaid_reason, refund_all, chargebacks, version, created_at, updated_at FROM orders`

func scanOrder(row scanner) (usher.Order, error) {
	var o usher.Order
	var status, items, held string
	var holdExpires, paidAt, refundAll, created, updated int64
	if err := row.Scan(&o.OrderID, &o.ShowID, &o.VenueID, &status, &items, &o.PaymentRef,
		&held, &holdExpires, &paidAt, &o.UnpaidReason, &refundAll, &o.Chargebacks, &o.Version, &created, &updated); err != nil {
		return usher.Order{}, err
	}
	o.Status = usher.OrderStatus(status)
	o.HoldExpiresAt, o.PaidAt, o.RefundAll = fromMicros(holdExpires), fromMicros(paidAt), refundAll != 0
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(items), &o.Items); err != nil {
		return usher.Order{}, fmt.Errorf("decode items of order %s: %w", o.OrderID, err)
	}
	if held != "" {
		if err := json.Unmarshal([]byte(held), &o.HeldItems); err != nil {
			return usher.Order{}, fmt.Errorf("decode held items of order %s: %w", o.OrderID, err)
		}
	}
	return o, nil
}

const ticketColumns = `SELECT ticket_id, order_id, show_id, venue_id, ticket_type, status, code, generation, revoked_by,
	used_before_revocation, holder_changed_at, created_at, updated_at FROM tickets`

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryTickets(ctx context.Context, q querier, query string, args ...any) ([]usher.Ticket, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query tickets: %w", err)
	}
	defer rows.Close()
	out := []usher.Ticket{}
	for rows.Next() {
		var t usher.Ticket
		var status string
		var used, holderChanged, created, updated int64
		if err := rows.Scan(&t.TicketID, &t.OrderID, &t.ShowID, &t.VenueID, &t.TicketType, &status, &t.Code, &t.Generation, &t.RevokedBy,
			&used, &holderChanged, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan ticket: %w", err)
		}
		t.Status, t.UsedBeforeRevocation, t.HolderChangedAt = usher.TicketStatus(status), used != 0, fromMicros(holderChanged)
		t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, t)
	}
	return out, rows.Err()
}

// HeldSeats sums the seats that active holds keep, per show and ticket type.
func (db *DB) HeldSeats(ctx context.Context) (map[[2]string]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT show_id, held_items FROM orders WHERE held_items <> '' AND held_items <> 'null'`)
	if err != nil {
		return nil, fmt.Errorf("held seats: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]int{}
	for rows.Next() {
		var show, raw string
		if err := rows.Scan(&show, &raw); err != nil {
			return nil, fmt.Errorf("scan held seats: %w", err)
		}
		var items []usher.Item
		if err := json.Unmarshal([]byte(raw), &items); err != nil {
			return nil, fmt.Errorf("decode held items: %w", err)
		}
		for _, it := range items {
			out[[2]string{show, it.TicketType}] += it.Quantity
		}
	}
	return out, rows.Err()
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
