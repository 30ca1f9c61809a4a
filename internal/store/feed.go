package store

import (
	"context"
	"fmt"

	"github.com/usherhq/usher"
)

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
