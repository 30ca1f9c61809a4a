package store

import (
	"context"
	"fmt"
	"time"

	"github.com/usherhq/usher"
)

// orderKey is the key under which a lane serializes deliveries: the order,
// or the event itself when it belongs to no order.
func orderKey(d usher.Delivery) string {
	if d.OrderID != "" {
		return "o:" + d.OrderID
	}
	return "e:" + d.EventID
}

// EnqueueDelivery records a pending delivery due at d.NextAttemptAt and
// reports whether it is new; one already recorded for the same subscription
// and event is left as it is.
func (tx *Tx) EnqueueDelivery(ctx context.Context, d usher.Delivery) (bool, error) {
	now := micros(tx.db.now())
	// Checked in the transaction, not from the dispatcher's snapshot: a
	// subscription disabled a moment ago records nothing more.
	res, err := tx.exec(ctx, `INSERT INTO deliveries (subscription_id, event_id, event_seq, type, order_id, venue_id, order_key,
		status, window_start, next_attempt_at, created_at, updated_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $10
		WHERE NOT EXISTS (SELECT 1 FROM subscriptions WHERE id = $1 AND status = $11)
		ON CONFLICT (subscription_id, event_id) DO NOTHING`,
		d.SubscriptionID, d.EventID, d.EventSeq, d.Type, d.OrderID, d.VenueID, orderKey(d), usher.DeliveryPending, micros(d.NextAttemptAt), now,
		usher.SubscriptionDisabled)
	if err != nil {
		return false, fmt.Errorf("enqueue delivery: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RequeueDelivery makes a delivery pending again at d.NextAttemptAt with a
// new retry window, recording it if it is missing, for a replay. One that is
// already pending is left as it is. It reports whether anything changed.
func (tx *Tx) RequeueDelivery(ctx context.Context, d usher.Delivery) (bool, error) {
	at, now := micros(d.NextAttemptAt), micros(tx.db.now())
	res, err := tx.exec(ctx, `INSERT INTO deliveries (subscription_id, event_id, event_seq, type, order_id, venue_id, order_key,
		status, window_start, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $10)
		ON CONFLICT (subscription_id, event_id) DO UPDATE SET status = $8, window_start = $9, next_attempt_at = $9,
			window_attempts = 0, lease_until = 0, lease_token = '', updated_at = $10
		WHERE deliveries.status <> $8`,
		d.SubscriptionID, d.EventID, d.EventSeq, d.Type, d.OrderID, d.VenueID, orderKey(d), usher.DeliveryPending, at, now)
	if err != nil {
		return false, fmt.Errorf("requeue delivery: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

const deliveryColumns = `d.id, d.subscription_id, d.event_id, d.event_seq, d.type, d.order_id, d.venue_id, d.status,
	d.attempts, d.window_attempts, d.window_start, d.next_attempt_at, d.last_status, d.first_error, d.last_error,
	d.created_at, d.updated_at, d.lease_token`

func scanDelivery(row scanner, extra ...any) (usher.Delivery, error) {
	var d usher.Delivery
	var window, next, created, updated int64
	dest := []any{&d.ID, &d.SubscriptionID, &d.EventID, &d.EventSeq, &d.Type, &d.OrderID, &d.VenueID, &d.Status,
		&d.Attempts, &d.WindowAttempts, &window, &next, &d.LastStatus, &d.FirstError, &d.LastError, &created, &updated, &d.LeaseToken}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return usher.Delivery{}, err
	}
	d.WindowStart, d.NextAttemptAt = fromMicros(window), fromMicros(next)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, nil
}

// SettleDelivery writes the outcome of an attempt made under d.LeaseToken:
// status, counters, next attempt and errors, and ends the lease. It fails
// with ErrLeaseLost when the claim no longer holds the delivery.
func (tx *Tx) SettleDelivery(ctx context.Context, d usher.Delivery) error {
	res, err := tx.exec(ctx, `UPDATE deliveries SET status = $1, attempts = $2, window_attempts = $3, next_attempt_at = $4,
		last_status = $5, first_error = $6, last_error = $7, lease_until = 0, lease_token = '', updated_at = $8
		WHERE id = $9 AND lease_token = $10 AND lease_token <> ''`,
		d.Status, d.Attempts, d.WindowAttempts, micros(d.NextAttemptAt), d.LastStatus, d.FirstError, d.LastError,
		micros(tx.db.now()), d.ID, d.LeaseToken)
	if err != nil {
		return fmt.Errorf("settle delivery: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("settle delivery: %w", err)
	} else if n != 1 {
		return usher.ErrLeaseLost
	}
	return nil
}

// Delivery returns the delivery of an event to a subscription, or a
// usher.CodeNotFound error.
func (db *DB) Delivery(ctx context.Context, subscriptionID, eventID string) (usher.Delivery, error) {
	d, err := scanDelivery(db.read.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries d
		WHERE d.subscription_id = $1 AND d.event_id = $2`, subscriptionID, eventID))
	if isNoRows(err) {
		return usher.Delivery{}, notFound("delivery of event", eventID)
	}
	if err != nil {
		return usher.Delivery{}, fmt.Errorf("read delivery: %w", err)
	}
	return d, nil
}

// DueSubscriptions lists the subscriptions with a pending delivery due at now
// and not leased. It probes each subscription's lane index once, so its cost
// follows the number of subscriptions, not the backlog.
func (db *DB) DueSubscriptions(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT s.id FROM subscriptions s WHERE EXISTS (SELECT 1 FROM deliveries d
		WHERE d.subscription_id = s.id AND d.status = $1 AND d.next_attempt_at <= $2 AND d.lease_until <= $2)`, usher.DeliveryPending, micros(now))
	if err != nil {
		return nil, fmt.Errorf("list due subscriptions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan subscription id: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PendingDeliveries counts pending deliveries by subscription.
func (db *DB) PendingDeliveries(ctx context.Context) (map[string]int, error) {
	return db.countBy(ctx, `SELECT subscription_id, COUNT(*) FROM deliveries WHERE status = $1 GROUP BY subscription_id`, usher.DeliveryPending)
}

func (db *DB) countBy(ctx context.Context, query string, args ...any) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("scan count: %w", err)
		}
		out[k] = n
	}
	return out, rows.Err()
}

// PruneDeliveries deletes delivered and dead deliveries last updated before
// the cutoff and attempts made before it, at most limit rows of each, and
// returns how many rows went.
func (db *DB) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM deliveries WHERE id IN
		(SELECT id FROM deliveries WHERE status <> $1 AND updated_at < $2 ORDER BY updated_at LIMIT $3)`, usher.DeliveryPending, micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	res, err = db.write.ExecContext(ctx, `DELETE FROM delivery_attempts WHERE id IN
		(SELECT id FROM delivery_attempts WHERE at < $1 ORDER BY at LIMIT $2)`, micros(before), limit)
	if err != nil {
		return n, fmt.Errorf("prune delivery attempts: %w", err)
	}
	m, _ := res.RowsAffected()
	return n + m, nil
}
