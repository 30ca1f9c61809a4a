package store

import (
	"context"
	"fmt"
	"time"

	"github.com/usherhq/usher"
)

// keyContext binds a sealed subscription key to its row.
func keyContext(subscriptionID, id string) string { return "subscription/" + subscriptionID + "/" + id }

// AddSubscriptionKey stores a signing key; with a sealer, its secret is
// sealed at rest like a source's.
func (tx *Tx) AddSubscriptionKey(ctx context.Context, k usher.SubscriptionKey) error {
	pub := k.PublicKey
	if pub == nil {
		pub = []byte{}
	}
	secret := k.Secret
	if tx.db.sealer != nil {
		var err error
		if secret, err = tx.db.sealer.Seal(k.Secret, keyContext(k.SubscriptionID, k.ID)); err != nil {
			return err
		}
	}
	_, err := tx.exec(ctx, `INSERT INTO subscription_keys (id, subscription_id, algorithm, secret, public_key, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.ID, k.SubscriptionID, k.Algorithm, secret, pub, micros(k.ExpiresAt), micros(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert subscription key: %w", err)
	}
	return nil
}

// ExpireSubscriptionKeys ends the life of a subscription's current keys at
// until, and deletes its keys that expired before now.
func (tx *Tx) ExpireSubscriptionKeys(ctx context.Context, subscriptionID string, until, now time.Time) error {
	if _, err := tx.exec(ctx, `DELETE FROM subscription_keys WHERE subscription_id = $1 AND expires_at <> 0 AND expires_at <= $2`,
		subscriptionID, micros(now)); err != nil {
		return fmt.Errorf("prune subscription keys: %w", err)
	}
	if _, err := tx.exec(ctx, `UPDATE subscription_keys SET expires_at = $1 WHERE subscription_id = $2 AND expires_at = 0`,
		micros(until), subscriptionID); err != nil {
		return fmt.Errorf("expire subscription keys: %w", err)
	}
	return nil
}

// SubscriptionKeys lists a subscription's keys, newest first, expired ones
// included until a rotation prunes them.
func (db *DB) SubscriptionKeys(ctx context.Context, subscriptionID string) ([]usher.SubscriptionKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, algorithm, secret, public_key, expires_at, created_at FROM subscription_keys
		WHERE subscription_id = $1 ORDER BY created_at DESC, id`, subscriptionID)
	if err != nil {
		return nil, fmt.Errorf("list subscription keys: %w", err)
	}
	defer rows.Close()
	var out []usher.SubscriptionKey
	for rows.Next() {
		k := usher.SubscriptionKey{SubscriptionID: subscriptionID}
		var expires, created int64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Secret, &k.PublicKey, &expires, &created); err != nil {
			return nil, fmt.Errorf("scan subscription key: %w", err)
		}
		k.ExpiresAt, k.CreatedAt = fromMicros(expires), fromMicros(created)
		if db.sealer != nil {
			if k.Secret, err = db.sealer.Open(k.Secret, keyContext(subscriptionID, k.ID)); err != nil {
				return nil, fmt.Errorf("open key %s of subscription %s: %w", k.ID, subscriptionID, err)
			}
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
