package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// RenewDeliveries extends to leaseUntil the leases that token still holds
// on the deliveries ids, while their attempts run, and returns how many it
// extended. A delivery settled or released since is left alone.
func (db *DB) RenewDeliveries(ctx context.Context, ids []int64, token string, leaseUntil time.Time) (int64, error) {
	if len(ids) == 0 || token == "" {
		return 0, nil
	}
	args := []any{micros(leaseUntil), token}
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = "$" + strconv.Itoa(len(args))
	}
	// The id list varies in length: run uncached, not one cached statement per length.
	res, err := db.write.ExecContext(ctx, `UPDATE deliveries SET lease_until = $1
		WHERE lease_token = $2 AND id IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("renew delivery leases: %w", err)
	}
	return res.RowsAffected()
}

// ReleaseLeases ends every lease of a pending delivery whose token starts
// with prefix, so that those deliveries are claimable at once, and returns
// how many it ended. A process calls it at start for the leases its own
// previous run left behind when it died; prefix must name that run's
// tokens and no live claim's.
func (db *DB) ReleaseLeases(ctx context.Context, prefix string) (int64, error) {
	if prefix == "" {
		return 0, nil
	}
	res, err := db.write.ExecContext(ctx, `UPDATE deliveries SET lease_until = 0, lease_token = ''
		WHERE status = $1 AND lease_token <> '' AND substr(lease_token, 1, $2) = $3`, usher.DeliveryPending, len(prefix), prefix)
	if err != nil {
		return 0, fmt.Errorf("release leases: %w", err)
	}
	return res.RowsAffected()
}

// ClaimDeliveries leases up to limit due deliveries of a subscription until
// leaseUntil under token and returns them with their events. It takes only
// the first pending delivery of each order (by event seq), and none of an
// order whose first pending delivery is leased or not yet due, so that a
// lane delivers the events of one order one at a time and in order.
func (db *DB) ClaimDeliveries(ctx context.Context, subscriptionID string, now, leaseUntil time.Time, token string, limit int) ([]usher.Delivery, error) {
	var out []usher.Delivery
	err := db.InTx(ctx, func(tx *Tx) error {
		out = out[:0]
		// A lane's copy of its subscription may lag a pause or a disable by
		// a moment; the claim itself refuses to lease for one that is not
		// active (a subscription the store does not know is left to the lane).
		var status string
		err := tx.queryRow(ctx, `SELECT status FROM subscriptions WHERE id = $1`, subscriptionID).Scan(&status)
		if err == nil && status != usher.SubscriptionActive {
			return nil
		}
		if err != nil && !isNoRows(err) {
			return fmt.Errorf("subscription status: %w", err)
		}
		ids, err := tx.dueHeads(ctx, subscriptionID, now, limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		args := []any{micros(leaseUntil), token, usher.DeliveryPending, micros(now)}
		ph := make([]string, len(ids))
		for i, id := range ids {
			args = append(args, id)
			ph[i] = "$" + strconv.Itoa(len(args))
		}
		// The id list varies in length: run uncached, not one cached statement per length.
		res, err := tx.tx.ExecContext(ctx, `UPDATE deliveries SET lease_until = $1, lease_token = $2
			WHERE status = $3 AND lease_until <= $4 AND id IN (`+strings.Join(ph, ", ")+`)`, args...)
		if err != nil {
			return fmt.Errorf("lease deliveries: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryColumns+`, COALESCE(o.data, ''), COALESCE(o.created_at, 0), COALESCE(o.traceparent, '')
			FROM deliveries d LEFT JOIN outbox o ON o.id = d.event_id
			WHERE d.subscription_id = $1 AND d.lease_token = $2 ORDER BY d.event_seq`, subscriptionID, token)
		if err != nil {
			return fmt.Errorf("read claimed deliveries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var data string
			var created int64
			var traceparent string
			d, err := scanDelivery(rows, &data, &created, &traceparent)
			if err != nil {
				return fmt.Errorf("scan delivery: %w", err)
			}
			d.Data, d.EventTime, d.TraceParent = json.RawMessage(data), fromMicros(created), traceparent
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}

// dueHeads returns the ids of due deliveries that head their order.
func (tx *Tx) dueHeads(ctx context.Context, subscriptionID string, now time.Time, limit int) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT d.id FROM deliveries d
		WHERE d.subscription_id = $1 AND d.status = $2 AND d.next_attempt_at <= $3 AND d.lease_until <= $3
		AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.subscription_id = d.subscription_id AND p.order_key = d.order_key
			AND p.status = $2 AND p.event_seq < d.event_seq)
		ORDER BY d.next_attempt_at, d.event_seq LIMIT $4`, subscriptionID, usher.DeliveryPending, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("find due deliveries: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan delivery id: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ReleaseDelivery ends the lease of a delivery that was claimed but not
// attempted, so that it is claimable again at once.
func (db *DB) ReleaseDelivery(ctx context.Context, id int64, token string) error {
	_, err := db.write.ExecContext(ctx, `UPDATE deliveries SET lease_until = 0, lease_token = '' WHERE id = $1 AND lease_token = $2`, id, token)
	if err != nil {
		return fmt.Errorf("release delivery: %w", err)
	}
	return nil
}
