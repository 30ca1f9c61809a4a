package store

import (
	"context"
	"fmt"

	"github.com/usherhq/usher"
)

// AppendTicketChange adds a change to its venue's feed under the venue's next
// sequence number and returns it. The first append of a transaction to a
// venue takes the number by updating the venue's row, so concurrent writers
// to one venue serialize and seq follows commit order; later appends of the
// transaction count on from it, and the rows and the last number are
// written when the transaction commits.
func (tx *Tx) AppendTicketChange(ctx context.Context, c usher.TicketChange) (int64, error) {
	seq, err := tx.nextVenueSeq(ctx, c.VenueID)
	if err != nil {
		return 0, err
	}
	tx.writes++
	tx.pend.changes = append(tx.pend.changes, []any{
		c.VenueID, seq, c.TicketID, c.ShowID, c.Status, c.CodeHash, micros(c.AcceptedAt), micros(tx.db.now())})
	return seq, nil
}

// nextVenueSeq hands out the venue's next feed number.
func (tx *Tx) nextVenueSeq(ctx context.Context, venueID string) (int64, error) {
	if s, ok := tx.pend.venues[venueID]; ok {
		s.last++
		return s.last, nil
	}
	var seq int64
	err := tx.queryRow(ctx, `UPDATE venue_seq SET seq = seq + 1 WHERE venue_id = $1 RETURNING seq`, venueID).Scan(&seq)
	if isNoRows(err) {
		seq = 1
		_, err = tx.exec(ctx, `INSERT INTO venue_seq (venue_id, seq) VALUES ($1, 1)`, venueID)
		if err != nil && tx.db.dialect.UniqueViolation(err) {
			return 0, fmt.Errorf("first feed entry of venue %s: %w", venueID, usher.ErrConflict)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("next venue seq: %w", err)
	}
	if tx.pend.venues == nil {
		tx.pend.venues = map[string]*venueSeq{}
	}
	tx.pend.venues[venueID] = &venueSeq{stored: seq, last: seq}
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
