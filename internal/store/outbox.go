package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/usherhq/usher"
)

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// AppendOutbox records an outbound event.
func (tx *Tx) AppendOutbox(ctx context.Context, ev usher.OutboundEvent) error {
	_, err := tx.exec(ctx, `INSERT INTO outbox (id, type, order_id, venue_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		ev.ID, ev.Type, ev.OrderID, ev.VenueID, string(ev.Data), micros(tx.db.now()))
	if err != nil {
		return fmt.Errorf("append outbox: %w", err)
	}
	return nil
}

// OutboxAfter lists outbound events with seq greater than after, oldest first.
func (db *DB) OutboxAfter(ctx context.Context, after int64, limit int) ([]usher.OutboundEvent, error) {
	return db.queryOutbox(ctx, outboxColumns+` WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
}

// AppendTicketChange adds a change to its venue's feed under the venue's next
// sequence number and returns it. Taking the number updates the venue's row,
// so concurrent writers to one venue serialize and seq follows commit order.
func (tx *Tx) AppendTicketChange(ctx context.Context, c usher.TicketChange) (int64, error) {
	var seq int64
	err := tx.queryRow(ctx, `UPDATE venue_seq SET seq = seq + 1 WHERE venue_id = $1 RETURNING seq`, c.VenueID).Scan(&seq)
	if isNoRows(err) {
		seq = 1
		_, err = tx.exec(ctx, `INSERT INTO venue_seq (venue_id, seq) VALUES ($1, 1)`, c.VenueID)
		if err != nil && tx.db.dialect.UniqueViolation(err) {
			return 0, fmt.Errorf("first feed entry of venue %s: %w", c.VenueID, usher.ErrConflict)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("next venue seq: %w", err)
	}
	_, err = tx.exec(ctx, `INSERT INTO ticket_changes (venue_id, seq, ticket_id, show_id, status, code_hash, accepted_at, changed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.VenueID, seq, c.TicketID, c.ShowID, c.Status, c.CodeHash, micros(c.AcceptedAt), micros(tx.db.now()))
	if err != nil {
		return 0, fmt.Errorf("append ticket change: %w", err)
	}
	return seq, nil
}

// TicketChanges lists a venue's feed after a cursor, in sequence order.
func (db *DB) TicketChanges(ctx context.Context, venueID string, after int64, limit int) ([]usher.TicketChange, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT seq, ticket_id, show_id, status, code_hash, accepted_at, changed_at FROM ticket_changes
		WHERE venue_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, venueID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list ticket changes: %w", err)
	}
	defer rows.Close()
	out := []usher.TicketChange{}
	for rows.Next() {
		c := usher.TicketChange{VenueID: venueID}
		var accepted, changed int64
		if err := rows.Scan(&c.Seq, &c.TicketID, &c.ShowID, &c.Status, &c.CodeHash, &accepted, &changed); err != nil {
			return nil, fmt.Errorf("scan ticket change: %w", err)
		}
		c.AcceptedAt, c.ChangedAt = fromMicros(accepted), fromMicros(changed)
		out = append(out, c)
	}
	return out, rows.Err()
}

// InsertDeadLetter records a dead letter; one with an id already stored is
// left as it is, so a replayed failure is kept once.
func (tx *Tx) InsertDeadLetter(ctx context.Context, d usher.DeadLetter) error {
	now := micros(tx.db.now())
	_, err := tx.exec(ctx, `INSERT INTO dead_letters (id, stage, source, subscription_id, event_id, type, order_id, venue_id,
		reason, attempts, first_error, last_error, payload, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
		ON CONFLICT (id) DO NOTHING`,
		d.ID, d.Stage, d.Source, d.SubscriptionID, d.EventID, d.Type, d.OrderID, d.VenueID,
		d.Reason, d.Attempts, d.FirstError, d.LastError, string(d.Payload), now)
	if err != nil {
		return fmt.Errorf("insert dead letter: %w", err)
	}
	return nil
}

// DeadLetters lists dead letters, newest first.
func (db *DB) DeadLetters(ctx context.Context, limit int) ([]usher.DeadLetter, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, stage, source, subscription_id, event_id, type, order_id, venue_id,
		reason, attempts, first_error, last_error, payload, created_at, updated_at FROM dead_letters ORDER BY created_at DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	var out []usher.DeadLetter
	for rows.Next() {
		var d usher.DeadLetter
		var payload string
		var created, updated int64
		if err := rows.Scan(&d.ID, &d.Stage, &d.Source, &d.SubscriptionID, &d.EventID, &d.Type, &d.OrderID, &d.VenueID,
			&d.Reason, &d.Attempts, &d.FirstError, &d.LastError, &payload, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan dead letter: %w", err)
		}
		d.Payload, d.CreatedAt, d.UpdatedAt = json.RawMessage(payload), fromMicros(created), fromMicros(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}
