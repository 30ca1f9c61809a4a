package store

import (
	"context"
	"fmt"
)

// NoteDeprecatedVersion records that the operator event announcing that a
// subscription is on the deprecated version was raised as eventID. It
// returns false, and records nothing, when that subscription and version
// were noted before: the caller then writes no event.
func (tx *Tx) NoteDeprecatedVersion(ctx context.Context, subscriptionID, version, eventID string) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO subscription_version_notices (subscription_id, version, event_id, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (subscription_id, version) DO NOTHING`,
		subscriptionID, version, eventID, micros(tx.db.now()))
	if err != nil {
		return false, fmt.Errorf("note deprecated version: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("note deprecated version: %w", err)
	}
	return n == 1, nil
}
