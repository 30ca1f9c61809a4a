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
