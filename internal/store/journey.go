package store

import (
	"context"
	"fmt"
	"time"

	"github.com/usherhq/usher"
)

// The reads of this file serve the operator console: an event's journey
// through usher, venue activity and which signing keys senders use. Each
// is bounded by an index (migration 00010) or a limit.

// InboundByEvent returns the dedupe records of an inbound event id, from
// any source (ids are unique per source only).
func (db *DB) InboundByEvent(ctx context.Context, eventID string) ([]usher.InboundRecord, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT source, event_id, payload_hash, type, order_id, key_id, outcome, reason, data, event_at, received_at, processed_at, trace_id
		FROM inbound_events WHERE event_id = $1 ORDER BY processed_at, source`, eventID)
	if err != nil {
		return nil, fmt.Errorf("inbound by event: %w", err)
	}
	defer rows.Close()
	var out []usher.InboundRecord
	for rows.Next() {
		var rec usher.InboundRecord
		var eventAt, receivedAt, processedAt int64
		var data string
		if err := rows.Scan(&rec.Source, &rec.EventID, &rec.PayloadHash, &rec.Type, &rec.OrderID, &rec.KeyID, &rec.Outcome, &rec.Reason, &data, &eventAt, &receivedAt, &processedAt, &rec.TraceID); err != nil {
			return nil, fmt.Errorf("scan inbound record: %w", err)
		}
		rec.Data = []byte(data)
		rec.EventAt, rec.ReceivedAt, rec.ProcessedAt = fromMicros(eventAt), fromMicros(receivedAt), fromMicros(processedAt)
		out = append(out, rec)
	}
	return out, rows.Err()
}

// OutboxByOrder lists the outbound events of an order in seq order, at
// most limit of them.
func (db *DB) OutboxByOrder(ctx context.Context, orderID string, limit int) ([]usher.OutboundEvent, error) {
	return db.queryOutbox(ctx, outboxColumns+` WHERE order_id = $1 ORDER BY seq LIMIT $2`, orderID, limit)
}

// DeliveriesOfEvent lists the deliveries of one outbound event, one per
// subscription that took it.
func (db *DB) DeliveriesOfEvent(ctx context.Context, eventID string) ([]usher.Delivery, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries d WHERE d.event_id = $1 ORDER BY d.id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("deliveries of event: %w", err)
	}
	defer rows.Close()
	var out []usher.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("scan delivery: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ScansOfTicket lists the scans of a ticket, oldest first.
func (db *DB) ScansOfTicket(ctx context.Context, ticketID string) ([]usher.Scan, error) {
	return db.queryScans(ctx, scanColumns+` WHERE ticket_id = $1 ORDER BY id LIMIT 1000`, ticketID)
}

// ScanConflicts lists a venue's scans that offline reconciliation marked
// duplicate_entry or admitted_while_revoked, newest first.
func (db *DB) ScanConflicts(ctx context.Context, venueID string, limit int) ([]usher.Scan, error) {
	return db.queryScans(ctx, scanColumns+` WHERE venue_id = $1 AND result IN ('duplicate_entry', 'admitted_while_revoked') ORDER BY id DESC LIMIT $2`, venueID, limit)
}

func (db *DB) queryScans(ctx context.Context, q string, args ...any) ([]usher.Scan, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list scans: %w", err)
	}
	defer rows.Close()
	out := []usher.Scan{}
	for rows.Next() {
		s, err := scanScan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan scan: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Venues lists the venues that have a feed or a scan, by id.
func (db *DB) Venues(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT venue_id FROM venue_seq UNION SELECT DISTINCT venue_id FROM scans ORDER BY 1 LIMIT 1000`)
	if err != nil {
		return nil, fmt.Errorf("list venues: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("scan venue: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Devices lists the scanner devices of a venue, most recently seen first.
func (db *DB) Devices(ctx context.Context, venueID string) ([]usher.DeviceActivity, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT device_id, MAX(recorded_at), COUNT(*), SUM(CASE WHEN mode = 'offline' THEN 1 ELSE 0 END)
		FROM scans WHERE venue_id = $1 GROUP BY device_id ORDER BY 2 DESC LIMIT 500`, venueID)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	out := []usher.DeviceActivity{}
	for rows.Next() {
		var d usher.DeviceActivity
		var last int64
		if err := rows.Scan(&d.DeviceID, &last, &d.Scans, &d.Offline); err != nil {
			return nil, fmt.Errorf("scan device: %w", err)
		}
		d.LastSeen = fromMicros(last)
		out = append(out, d)
	}
	return out, rows.Err()
}

// KeyUsage counts, per signing key, the inbound events of a source
// processed since the given time: which keys senders actually use.
func (db *DB) KeyUsage(ctx context.Context, source string, since time.Time) ([]usher.KeyUse, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT key_id, COUNT(*), MAX(processed_at) FROM inbound_events
		WHERE processed_at >= $1 AND source = $2 GROUP BY key_id ORDER BY 3 DESC`, micros(since), source)
	if err != nil {
		return nil, fmt.Errorf("key usage: %w", err)
	}
	defer rows.Close()
	out := []usher.KeyUse{}
	for rows.Next() {
		var k usher.KeyUse
		var last int64
		if err := rows.Scan(&k.KeyID, &k.Events, &last); err != nil {
			return nil, fmt.Errorf("scan key usage: %w", err)
		}
		k.LastUsed = fromMicros(last)
		out = append(out, k)
	}
	return out, rows.Err()
}
