package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
	status, disabled_reason, failing_since, version, created_at, updated_at, event_version FROM subscriptions`

func scanSubscription(row scanner) (usher.Subscription, error) {
	var s usher.Subscription
	var types, venues, schedule string
	var pii, failing, created, updated int64
	err := row.Scan(&s.ID, &s.URL, &types, &venues, &s.Description, &s.Signing, &schedule, &pii,
		&s.Status, &s.DisabledReason, &failing, &s.Version, &created, &updated, &s.EventVersion)
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
		retry_schedule, pii, status, disabled_reason, failing_since, version, created_at, updated_at, event_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12, $13)`,
		s.ID, s.URL, encodeStrings(s.EventTypes), encodeStrings(s.VenueIDs), s.Description, s.Signing,
		encodeSchedule(s.RetrySchedule), boolInt(s.PII), s.Status, s.DisabledReason, micros(s.FailingSince), micros(s.CreatedAt),
		eventVersionOrDefault(s.EventVersion))
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
		signing = $5, retry_schedule = $6, pii = $7, status = $8, disabled_reason = $9, version = version + 1, updated_at = $10,
		event_version = $13
		WHERE id = $11 AND version = $12`,
		s.URL, encodeStrings(s.EventTypes), encodeStrings(s.VenueIDs), s.Description, s.Signing, encodeSchedule(s.RetrySchedule),
		boolInt(s.PII), s.Status, s.DisabledReason, micros(tx.db.now()), s.ID, s.Version, eventVersionOrDefault(s.EventVersion))
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

// defaultEventVersion is the column's default (migration 00012): the shape
// every subscription received before versions existed.
const defaultEventVersion = "2026-12-01"

// eventVersionOrDefault keeps a subscription written without a version on
// the column's default.
func eventVersionOrDefault(v string) string {
	if v == "" {
		return defaultEventVersion
	}
	return v
}
