package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

func encodeStrings(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func decodeStrings(s string) []string {
	out := []string{}
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

func encodeSchedule(d []time.Duration) string {
	if d == nil {
		return ""
	}
	ms := make([]int64, len(d))
	for i, v := range d {
		ms[i] = v.Milliseconds()
	}
	b, _ := json.Marshal(ms)
	return string(b)
}

func decodeSchedule(s string) []time.Duration {
	if s == "" {
		return nil
	}
	var ms []int64
	if json.Unmarshal([]byte(s), &ms) != nil {
		return nil
	}
	out := make([]time.Duration, len(ms))
	for i, v := range ms {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

const subscriptionColumns = `SELECT id, url, event_types, venue_ids, description, signing, retry_schedule, pii,
	status, disabled_reason, failing_since, version, created_at, updated_at FROM subscriptions`

func scanSubscription(row scanner) (usher.Subscription, error) {
	var s usher.Subscription
	var types, venues, schedule string
	var pii, failing, created, updated int64
	err := row.Scan(&s.ID, &s.URL, &types, &venues, &s.Description, &s.Signing, &schedule, &pii,
		&s.Status, &s.DisabledReason, &failing, &s.Version, &created, &updated)
	if err != nil {
		return usher.Subscription{}, err
	}
	s.EventTypes, s.VenueIDs, s.RetrySchedule = decodeStrings(types), decodeStrings(venues), decodeSchedule(schedule)
	s.PII, s.FailingSince = pii != 0, fromMicros(failing)
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	return s, nil
}

// CreateSubscription stores a new subscription with its first signing key
// in a transaction of its own (see InsertSubscription).
func (db *DB) CreateSubscription(ctx context.Context, s usher.Subscription, key usher.SubscriptionKey) error {
	return db.InTx(ctx, func(tx *Tx) error { return tx.InsertSubscription(ctx, s, key) })
}

// InsertSubscription stores a new subscription with its first signing key.
// An id already taken is a usher.CodeConflict error.
func (tx *Tx) InsertSubscription(ctx context.Context, s usher.Subscription, key usher.SubscriptionKey) error {
	_, err := tx.exec(ctx, `INSERT INTO subscriptions (id, url, event_types, venue_ids, description, signing,
		retry_schedule, pii, status, disabled_reason, failing_since, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)`,
		s.ID, s.URL, encodeStrings(s.EventTypes), encodeStrings(s.VenueIDs), s.Description, s.Signing,
		encodeSchedule(s.RetrySchedule), boolInt(s.PII), s.Status, s.DisabledReason, micros(s.FailingSince), micros(s.CreatedAt))
	if err != nil {
		if tx.db.dialect.UniqueViolation(err) {
			return usher.Errorf(usher.CodeConflict, "subscription %q already exists", s.ID)
		}
		return fmt.Errorf("insert subscription: %w", err)
	}
	key.SubscriptionID = s.ID
	return tx.AddSubscriptionKey(ctx, key)
}

// Subscription returns a subscription, or a usher.CodeNotFound error.
func (db *DB) Subscription(ctx context.Context, id string) (usher.Subscription, error) {
	s, err := scanSubscription(db.read.QueryRowContext(ctx, subscriptionColumns+` WHERE id = $1`, id))
	if isNoRows(err) {
		return usher.Subscription{}, notFound("subscription", id)
	}
	if err != nil {
		return usher.Subscription{}, fmt.Errorf("read subscription: %w", err)
	}
	return s, nil
}

// Subscriptions lists every subscription, oldest first.
func (db *DB) Subscriptions(ctx context.Context) ([]usher.Subscription, error) {
	rows, err := db.read.QueryContext(ctx, subscriptionColumns+` ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	out := []usher.Subscription{}
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("scan subscription: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Subscription returns a subscription inside the transaction; found is false
// when there is none.
func (tx *Tx) Subscription(ctx context.Context, id string) (usher.Subscription, bool, error) {
	s, err := scanSubscription(tx.queryRow(ctx, subscriptionColumns+` WHERE id = $1`, id))
	if isNoRows(err) {
		return usher.Subscription{}, false, nil
	}
	if err != nil {
		return usher.Subscription{}, false, fmt.Errorf("read subscription: %w", err)
	}
	return s, true, nil
}

// UpdateSubscription writes s if the stored subscription is still at
// s.Version, and fails with ErrConflict otherwise. It increments the version
// and sets the update time; failing_since is left to the lanes.
func (tx *Tx) UpdateSubscription(ctx context.Context, s usher.Subscription) error {
	res, err := tx.exec(ctx, `UPDATE subscriptions SET url = $1, event_types = $2, venue_ids = $3, description = $4,
		signing = $5, retry_schedule = $6, pii = $7, status = $8, disabled_reason = $9, version = version + 1, updated_at = $10
		WHERE id = $11 AND version = $12`,
		s.URL, encodeStrings(s.EventTypes), encodeStrings(s.VenueIDs), s.Description, s.Signing, encodeSchedule(s.RetrySchedule),
		boolInt(s.PII), s.Status, s.DisabledReason, micros(tx.db.now()), s.ID, s.Version)
	if err != nil {
		return fmt.Errorf("update subscription: %w", err)
	}
	return expectOne(res, "update subscription")
}

func expectOne(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n != 1 {
		return fmt.Errorf("%s: %w", what, usher.ErrConflict)
	}
	return nil
}

// MarkSubscriptionFailing records that a run of failures began at since,
// unless one is already running.
func (tx *Tx) MarkSubscriptionFailing(ctx context.Context, id string, since time.Time) error {
	_, err := tx.exec(ctx, `UPDATE subscriptions SET failing_since = $1 WHERE id = $2 AND failing_since = 0`, micros(since), id)
	if err != nil {
		return fmt.Errorf("mark subscription failing: %w", err)
	}
	return nil
}

// ClearSubscriptionFailing ends a run of failures.
func (tx *Tx) ClearSubscriptionFailing(ctx context.Context, id string) error {
	_, err := tx.exec(ctx, `UPDATE subscriptions SET failing_since = 0 WHERE id = $1 AND failing_since <> 0`, id)
	if err != nil {
		return fmt.Errorf("clear subscription failing: %w", err)
	}
	return nil
}

// DisableSubscription disables an active or paused subscription and reports
// whether it did; one already disabled (or gone) is left as it is.
func (tx *Tx) DisableSubscription(ctx context.Context, id, reason string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE subscriptions SET status = $1, disabled_reason = $2, version = version + 1, updated_at = $3
		WHERE id = $4 AND status <> $1`, usher.SubscriptionDisabled, reason, micros(tx.db.now()), id)
	if err != nil {
		return false, fmt.Errorf("disable subscription: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteSubscription deletes a subscription, its keys and its deliveries in
// a transaction of its own (see Tx.DeleteSubscription).
func (db *DB) DeleteSubscription(ctx context.Context, id string) error {
	return db.InTx(ctx, func(tx *Tx) error { return tx.DeleteSubscription(ctx, id) })
}

// DeleteSubscription deletes a subscription, its keys and its deliveries.
// Its attempts and dead letters stay as history. A missing subscription is a
// usher.CodeNotFound error.
func (tx *Tx) DeleteSubscription(ctx context.Context, id string) error {
	if _, err := tx.exec(ctx, `DELETE FROM deliveries WHERE subscription_id = $1`, id); err != nil {
		return fmt.Errorf("delete deliveries: %w", err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM subscription_keys WHERE subscription_id = $1`, id); err != nil {
		return fmt.Errorf("delete subscription keys: %w", err)
	}
	res, err := tx.exec(ctx, `DELETE FROM subscriptions WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete subscription: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete subscription: %w", err)
	} else if n == 0 {
		return notFound("subscription", id)
	}
	return nil
}

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
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryColumns+`, COALESCE(o.data, ''), COALESCE(o.created_at, 0)
			FROM deliveries d LEFT JOIN outbox o ON o.id = d.event_id
			WHERE d.subscription_id = $1 AND d.lease_token = $2 ORDER BY d.event_seq`, subscriptionID, token)
		if err != nil {
			return fmt.Errorf("read claimed deliveries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var data string
			var created int64
			d, err := scanDelivery(rows, &data, &created)
			if err != nil {
				return fmt.Errorf("scan delivery: %w", err)
			}
			d.Data, d.EventTime = json.RawMessage(data), fromMicros(created)
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

// ReleaseDelivery ends the lease of a delivery that was claimed but not
// attempted, so that it is claimable again at once.
func (db *DB) ReleaseDelivery(ctx context.Context, id int64, token string) error {
	_, err := db.write.ExecContext(ctx, `UPDATE deliveries SET lease_until = 0, lease_token = '' WHERE id = $1 AND lease_token = $2`, id, token)
	if err != nil {
		return fmt.Errorf("release delivery: %w", err)
	}
	return nil
}

// InsertDeliveryAttempt records an attempt.
func (tx *Tx) InsertDeliveryAttempt(ctx context.Context, a usher.DeliveryAttempt) error {
	_, err := tx.exec(ctx, `INSERT INTO delivery_attempts (delivery_id, subscription_id, event_id, attempt, status_code, latency_ms, error, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.DeliveryID, a.SubscriptionID, a.EventID, a.Attempt, a.StatusCode, a.LatencyMS, a.Error, micros(a.At))
	if err != nil {
		return fmt.Errorf("insert delivery attempt: %w", err)
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

// OpenDeadLetters counts dead letters not replayed, by stage.
func (db *DB) OpenDeadLetters(ctx context.Context) (map[string]int, error) {
	return db.countBy(ctx, `SELECT stage, COUNT(*) FROM dead_letters WHERE replayed_at = $1 GROUP BY stage`, 0)
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

const outboxColumns = `SELECT seq, id, type, order_id, venue_id, data, created_at FROM outbox`

func (db *DB) queryOutbox(ctx context.Context, query string, args ...any) ([]usher.OutboundEvent, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	var out []usher.OutboundEvent
	for rows.Next() {
		var ev usher.OutboundEvent
		var data string
		var created int64
		if err := rows.Scan(&ev.Seq, &ev.ID, &ev.Type, &ev.OrderID, &ev.VenueID, &data, &created); err != nil {
			return nil, fmt.Errorf("scan outbox: %w", err)
		}
		ev.Data, ev.CreatedAt = json.RawMessage(data), fromMicros(created)
		out = append(out, ev)
	}
	return out, rows.Err()
}

// OutboxBySeq returns the outbound events among seqs that exist, in seq
// order.
func (db *DB) OutboxBySeq(ctx context.Context, seqs []int64) ([]usher.OutboundEvent, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	ph := make([]string, len(seqs))
	args := make([]any, len(seqs))
	for i, s := range seqs {
		ph[i], args[i] = "$"+strconv.Itoa(i+1), s
	}
	return db.queryOutbox(ctx, outboxColumns+` WHERE seq IN (`+strings.Join(ph, ", ")+`) ORDER BY seq`, args...)
}

// OutboxSince lists outbound events created at or after since with seq
// greater than after, in seq order.
func (db *DB) OutboxSince(ctx context.Context, since time.Time, after int64, limit int) ([]usher.OutboundEvent, error) {
	return db.queryOutbox(ctx, outboxColumns+` WHERE created_at >= $1 AND seq > $2 ORDER BY seq LIMIT $3`, micros(since), after, limit)
}

// OutboxEvent returns one outbound event by id, or a usher.CodeNotFound error.
func (db *DB) OutboxEvent(ctx context.Context, id string) (usher.OutboundEvent, error) {
	evs, err := db.queryOutbox(ctx, outboxColumns+` WHERE id = $1`, id)
	if err != nil {
		return usher.OutboundEvent{}, err
	}
	if len(evs) == 0 {
		return usher.OutboundEvent{}, notFound("outbound event", id)
	}
	return evs[0], nil
}

// UpsertDeadLetter records a dead letter, or updates the one with the same
// id (a replayed delivery that failed again): reason, attempts, last error
// and payload are overwritten, the first error is kept, and it is open again.
func (tx *Tx) UpsertDeadLetter(ctx context.Context, d usher.DeadLetter) error {
	now := micros(tx.db.now())
	_, err := tx.exec(ctx, `INSERT INTO dead_letters (id, stage, source, subscription_id, event_id, type, order_id, venue_id,
		reason, attempts, first_error, last_error, payload, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
		ON CONFLICT (id) DO UPDATE SET reason = $9, attempts = $10, last_error = $12, payload = $13, updated_at = $14, replayed_at = 0`,
		d.ID, d.Stage, d.Source, d.SubscriptionID, d.EventID, d.Type, d.OrderID, d.VenueID,
		d.Reason, d.Attempts, d.FirstError, d.LastError, string(d.Payload), now)
	if err != nil {
		return fmt.Errorf("upsert dead letter: %w", err)
	}
	return nil
}

// MarkDeadLetterReplayed closes a dead letter as replayed at the given time.
func (tx *Tx) MarkDeadLetterReplayed(ctx context.Context, id string, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE dead_letters SET replayed_at = $1, replays = replays + 1 WHERE id = $2`, micros(at), id)
	if err != nil {
		return fmt.Errorf("mark dead letter replayed: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("mark dead letter replayed: %w", err)
	} else if n == 0 {
		return notFound("dead letter", id)
	}
	return nil
}

// SearchDeadLetters lists the dead letters that match f, newest first, and
// the cursor of the next page ("" on the last page). A cursor that is not
// one SearchDeadLetters returned is a usher.CodeInvalid error.
func (db *DB) SearchDeadLetters(ctx context.Context, f usher.DeadLetterFilter) ([]usher.DeadLetterRecord, string, error) {
	where, args, err := deadLetterWhere(f)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + deadLetterColumns + ` FROM dead_letters`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit+1)
	q += ` ORDER BY created_at DESC, id LIMIT $` + strconv.Itoa(len(args))
	out, err := db.queryDeadLetters(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[len(out)-1]
		next = encodeDLCursor(micros(last.CreatedAt), last.ID)
	}
	return out, next, nil
}

// deadLetterWhere returns the conditions of a search, numbered $1, $2, …,
// and their arguments.
func deadLetterWhere(f usher.DeadLetterFilter) ([]string, []any, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	for _, c := range []struct{ col, v string }{
		{"stage", f.Stage}, {"source", f.Source}, {"subscription_id", f.SubscriptionID}, {"type", f.Type},
		{"order_id", f.OrderID}, {"venue_id", f.VenueID}, {"reason", f.Reason},
	} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if !f.Since.IsZero() {
		add("created_at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("created_at < ?", micros(f.Until))
	}
	switch f.State {
	case "", usher.DeadLettersOpen:
		add("replayed_at = ?", 0)
	case usher.DeadLettersReplayed:
		add("replayed_at > ?", 0)
	case usher.DeadLettersAll:
	default:
		return nil, nil, usher.Errorf(usher.CodeInvalid, "state %q: want open, replayed or all", f.State)
	}
	if f.Cursor != "" {
		created, id, err := decodeDLCursor(f.Cursor)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, created, id)
		n := len(args)
		where = append(where, fmt.Sprintf("(created_at < $%d OR (created_at = $%d AND id > $%d))", n-1, n-1, n))
	}
	return where, args, nil
}

// DeadLetterByID returns one dead letter, or a usher.CodeNotFound error.
func (db *DB) DeadLetterByID(ctx context.Context, id string) (usher.DeadLetterRecord, error) {
	out, err := db.queryDeadLetters(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters WHERE id = $1`, id)
	if err != nil {
		return usher.DeadLetterRecord{}, err
	}
	if len(out) == 0 {
		return usher.DeadLetterRecord{}, notFound("dead letter", id)
	}
	return out[0], nil
}

const deadLetterColumns = `id, stage, source, subscription_id, event_id, type, order_id, venue_id,
	reason, attempts, first_error, last_error, payload, created_at, updated_at, replayed_at, replays`

func (db *DB) queryDeadLetters(ctx context.Context, q string, args ...any) ([]usher.DeadLetterRecord, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("search dead letters: %w", err)
	}
	defer rows.Close()
	out := []usher.DeadLetterRecord{}
	for rows.Next() {
		var r usher.DeadLetterRecord
		d := &r.DeadLetter
		var payload string
		var created, updated, replayed int64
		if err := rows.Scan(&d.ID, &d.Stage, &d.Source, &d.SubscriptionID, &d.EventID, &d.Type, &d.OrderID, &d.VenueID,
			&d.Reason, &d.Attempts, &d.FirstError, &d.LastError, &payload, &created, &updated, &replayed, &r.Replays); err != nil {
			return nil, fmt.Errorf("scan dead letter: %w", err)
		}
		d.Payload, d.CreatedAt, d.UpdatedAt = json.RawMessage(payload), fromMicros(created), fromMicros(updated)
		r.ReplayedAt = fromMicros(replayed)
		out = append(out, r)
	}
	return out, rows.Err()
}

func encodeDLCursor(created int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(created, 10) + "." + id))
}

func decodeDLCursor(c string) (int64, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		ts, id, ok := strings.Cut(string(raw), ".")
		if n, perr := strconv.ParseInt(ts, 10, 64); ok && perr == nil && id != "" {
			return n, id, nil
		}
	}
	return 0, "", usher.Errorf(usher.CodeInvalid, "cursor %q is not one this API returned", c)
}
