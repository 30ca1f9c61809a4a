package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/usherhq/usher"
)

// InboundRecord returns the dedupe record of (source, eventID); found is false
// when the event was never processed.
func (tx *Tx) InboundRecord(ctx context.Context, source, eventID string) (rec usher.InboundRecord, found bool, err error) {
	row := tx.queryRow(ctx, `SELECT payload_hash, type, order_id, key_id, outcome, reason, data, event_at, received_at, processed_at
		FROM inbound_events WHERE source = $1 AND event_id = $2`, source, eventID)
	var eventAt, receivedAt, processedAt int64
	var data string
	err = row.Scan(&rec.PayloadHash, &rec.Type, &rec.OrderID, &rec.KeyID, &rec.Outcome, &rec.Reason, &data, &eventAt, &receivedAt, &processedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return usher.InboundRecord{}, false, nil
	}
	if err != nil {
		return usher.InboundRecord{}, false, fmt.Errorf("read inbound record: %w", err)
	}
	rec.Source, rec.EventID, rec.Data = source, eventID, []byte(data)
	rec.EventAt, rec.ReceivedAt, rec.ProcessedAt = fromMicros(eventAt), fromMicros(receivedAt), fromMicros(processedAt)
	return rec, true, nil
}

// InsertInbound writes the dedupe record. A second record for the same
// (source, event id) fails on the primary key, which makes the record the
// guarantee even if two processors raced.
func (tx *Tx) InsertInbound(ctx context.Context, rec usher.InboundRecord) error {
	_, err := tx.exec(ctx, `INSERT INTO inbound_events
		(source, event_id, payload_hash, type, order_id, key_id, outcome, reason, data, event_at, received_at, processed_at, trace_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		rec.Source, rec.EventID, rec.PayloadHash, rec.Type, rec.OrderID, rec.KeyID, rec.Outcome, rec.Reason,
		string(rec.Data), micros(rec.EventAt), micros(rec.ReceivedAt), micros(rec.ProcessedAt), rec.TraceID)
	if err != nil {
		if tx.db.dialect.UniqueViolation(err) {
			return fmt.Errorf("insert inbound record: %w", usher.ErrConflict)
		}
		return fmt.Errorf("insert inbound record: %w", err)
	}
	return nil
}

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
	if _, err := tx.exec(ctx, `DELETE FROM inbound_events WHERE source = $1 AND event_id = $2`, source, eventID); err != nil {
		return fmt.Errorf("delete inbound record: %w", err)
	}
	return nil
}
