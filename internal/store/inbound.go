package store

import (
	"context"
	"fmt"
	"time"

	"github.com/usherhq/usher"
)

// InboundRecords lists the dedupe records of an order, oldest first.
func (db *DB) InboundRecords(ctx context.Context, orderID string) ([]usher.InboundRecord, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT source, event_id, payload_hash, type, key_id, outcome, reason, data, event_at, received_at, processed_at, trace_id
		FROM inbound_events WHERE order_id = $1 ORDER BY processed_at, event_id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("list inbound records: %w", err)
	}
	defer rows.Close()
	var out []usher.InboundRecord
	for rows.Next() {
		rec := usher.InboundRecord{OrderID: orderID}
		var eventAt, receivedAt, processedAt int64
		var data string
		if err := rows.Scan(&rec.Source, &rec.EventID, &rec.PayloadHash, &rec.Type, &rec.KeyID, &rec.Outcome, &rec.Reason, &data, &eventAt, &receivedAt, &processedAt, &rec.TraceID); err != nil {
			return nil, fmt.Errorf("scan inbound record: %w", err)
		}
		rec.Data = []byte(data)
		rec.EventAt, rec.ReceivedAt, rec.ProcessedAt = fromMicros(eventAt), fromMicros(receivedAt), fromMicros(processedAt)
		out = append(out, rec)
	}
	return out, rows.Err()
}

// CountInbound returns how many dedupe records exist, by outcome.
func (db *DB) CountInbound(ctx context.Context) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT outcome, COUNT(*) FROM inbound_events GROUP BY outcome`)
	if err != nil {
		return nil, fmt.Errorf("count inbound records: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var outcome string
		var n int
		if err := rows.Scan(&outcome, &n); err != nil {
			return nil, fmt.Errorf("scan count: %w", err)
		}
		out[outcome] = n
	}
	return out, rows.Err()
}

// PruneInbound deletes dedupe records processed before the cutoff, at most
// limit of them, and returns how many went.
func (db *DB) PruneInbound(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := db.write.ExecContext(ctx, `DELETE FROM inbound_events WHERE (source, event_id) IN
		(SELECT source, event_id FROM inbound_events WHERE processed_at < $1 ORDER BY processed_at LIMIT $2)`, micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("prune inbound records: %w", err)
	}
	return res.RowsAffected()
}

// DeleteInbound removes a dedupe record, so that a replayed set-aside event
// can be applied; the caller writes the new record in the same transaction.
func (tx *Tx) DeleteInbound(ctx context.Context, source, eventID string) error {
	if err := tx.flushInbound(ctx); err != nil {
		return err
	}
	delete(tx.inbound, InboundKey{source, eventID})
	if _, err := tx.exec(ctx, `DELETE FROM inbound_events WHERE source = $1 AND event_id = $2`, source, eventID); err != nil {
		return fmt.Errorf("delete inbound record: %w", err)
	}
	return nil
}
