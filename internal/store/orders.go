package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

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
	_, err = tx.exec(ctx, `INSERT INTO orders (order_id, show_id, venue_id, status, items, buyer_email, buyer_name, payment_ref, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)`,
		o.OrderID, o.ShowID, o.VenueID, string(o.Status), string(items), buyer.Email, buyer.Name, o.PaymentRef, now)
	if err != nil {
		if tx.db.dialect.UniqueViolation(err) {
			return fmt.Errorf("insert order %s: %w", o.OrderID, ErrConflict)
		}
		return fmt.Errorf("insert order: %w", err)
	}
	return nil
}

// SwapOrderStatus moves an order to status if it is still at version.
func (tx *Tx) SwapOrderStatus(ctx context.Context, o usher.Order, status usher.OrderStatus) error {
	res, err := tx.exec(ctx, `UPDATE orders SET status = $1, version = version + 1, updated_at = $2
		WHERE order_id = $3 AND version = $4`, string(status), micros(tx.db.now()), o.OrderID, o.Version)
	if err != nil {
		return fmt.Errorf("update order status: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("order %s at version %d: %w", o.OrderID, o.Version, ErrConflict)
	}
	return nil
}

// InsertTicket creates a ticket.
func (tx *Tx) InsertTicket(ctx context.Context, t usher.Ticket) error {
	now := micros(tx.db.now())
	_, err := tx.exec(ctx, `INSERT INTO tickets (ticket_id, order_id, show_id, venue_id, ticket_type, status, code, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
		t.TicketID, t.OrderID, t.ShowID, t.VenueID, t.TicketType, string(t.Status), t.Code, now)
	if err != nil {
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
		return fmt.Errorf("ticket %s not %s: %w", ticketID, from, ErrConflict)
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

const orderColumns = `SELECT order_id, show_id, venue_id, status, items, payment_ref, version, created_at, updated_at FROM orders`

func scanOrder(row scanner) (usher.Order, error) {
	var o usher.Order
	var status, items string
	var created, updated int64
	if err := row.Scan(&o.OrderID, &o.ShowID, &o.VenueID, &status, &items, &o.PaymentRef, &o.Version, &created, &updated); err != nil {
		return usher.Order{}, err
	}
	o.Status = usher.OrderStatus(status)
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(items), &o.Items); err != nil {
		return usher.Order{}, fmt.Errorf("decode items of order %s: %w", o.OrderID, err)
	}
	return o, nil
}

const ticketColumns = `SELECT ticket_id, order_id, show_id, venue_id, ticket_type, status, code, created_at, updated_at FROM tickets`

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
		var created, updated int64
		if err := rows.Scan(&t.TicketID, &t.OrderID, &t.ShowID, &t.VenueID, &t.TicketType, &status, &t.Code, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan ticket: %w", err)
		}
		t.Status = usher.TicketStatus(status)
		t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, t)
	}
	return out, rows.Err()
}
