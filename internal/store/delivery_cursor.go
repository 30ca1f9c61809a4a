package store

import (
	"context"
	"fmt"
)

// DeliveryCursor returns how far the dispatcher named name has read the
// outbox (0 before its first pass).
func (db *DB) DeliveryCursor(ctx context.Context, name string) (int64, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, `SELECT seq FROM delivery_cursors WHERE name = $1`, name).Scan(&seq)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read delivery cursor: %w", err)
	}
	return seq, nil
}

// AdvanceDeliveryCursor moves a dispatcher's cursor forward to seq; a cursor
// already past seq stays where it is.
func (tx *Tx) AdvanceDeliveryCursor(ctx context.Context, name string, seq int64) error {
	_, err := tx.exec(ctx, `INSERT INTO delivery_cursors (name, seq) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET seq = $2 WHERE delivery_cursors.seq < $2`, name, seq)
	if err != nil {
		return fmt.Errorf("advance delivery cursor: %w", err)
	}
	return nil
}
