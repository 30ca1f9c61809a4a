package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/usherhq/usher"
)

// InsertDeliveryAttempt records an attempt.
func (tx *Tx) InsertDeliveryAttempt(ctx context.Context, a usher.DeliveryAttempt) error {
	_, err := tx.exec(ctx, `INSERT INTO delivery_attempts (delivery_id, subscription_id, event_id, attempt, status_code, latency_ms, error, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.DeliveryID, a.SubscriptionID, a.EventID, a.Attempt, a.StatusCode, a.LatencyMS, a.Error, micros(a.At))
	if err != nil {
		return fmt.Errorf("insert delivery attempt: %w", err)
	}
	return nil
}

// DeliveryAttempts lists attempts, newest first.
func (db *DB) DeliveryAttempts(ctx context.Context, f usher.AttemptFilter) ([]usher.DeliveryAttempt, error) {
	q := `SELECT id, delivery_id, subscription_id, event_id, attempt, status_code, latency_ms, error, at FROM delivery_attempts WHERE subscription_id = $1`
	args := []any{f.SubscriptionID}
	if f.EventID != "" {
		args = append(args, f.EventID)
		q += ` AND event_id = $` + strconv.Itoa(len(args))
	}
	if f.Before > 0 {
		args = append(args, f.Before)
		q += ` AND id < $` + strconv.Itoa(len(args))
	}
	args = append(args, f.Limit)
	q += ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list delivery attempts: %w", err)
	}
	defer rows.Close()
	out := []usher.DeliveryAttempt{}
	for rows.Next() {
		var a usher.DeliveryAttempt
		var at int64
		if err := rows.Scan(&a.ID, &a.DeliveryID, &a.SubscriptionID, &a.EventID, &a.Attempt, &a.StatusCode, &a.LatencyMS, &a.Error, &at); err != nil {
			return nil, fmt.Errorf("scan delivery attempt: %w", err)
		}
		a.At = fromMicros(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
