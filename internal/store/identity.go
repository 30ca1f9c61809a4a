package store

import (
	"context"
	"fmt"
)

// StoreID returns the random id the schema was created with (migration
// 00011). The data directory's IDENTITY file names it, so that a database
// that went missing or was replaced is told from a first start.
func (db *DB) StoreID(ctx context.Context) (string, error) {
	var id string
	if err := db.read.QueryRowContext(ctx, `SELECT store_id FROM store_identity WHERE singleton = 1`).Scan(&id); err != nil {
		return "", fmt.Errorf("read store id: %w", err)
	}
	return id, nil
}

// ProbeWrite commits one small write, as the processor's transactions do:
// it fails when the store cannot make progress (a full disk, a read-only
// file, a lost connection). Readiness calls it.
func (db *DB) ProbeWrite(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE store_identity SET probed_at = $1 WHERE singleton = 1`, micros(db.now())); err != nil {
		return fmt.Errorf("store write probe: %w", err)
	}
	return nil
}
