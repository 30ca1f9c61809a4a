package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/usherhq/usher"
)

// InboundKey names a dedupe record.
type InboundKey struct{ Source, EventID string }

// txInbound is a dedupe record as a transaction knows it: read (found or
// not) by PrefetchInbound or InboundRecord, or written by InsertInbound.
type txInbound struct {
	rec   usher.InboundRecord
	found bool
}

const inboundColumns = `SELECT source, event_id, payload_hash, type, order_id, key_id, outcome, reason, data, event_at, received_at, processed_at
	FROM inbound_events`

// PrefetchInbound reads the dedupe records of keys in a few statements;
// InboundRecord then answers for them from memory.
func (tx *Tx) PrefetchInbound(ctx context.Context, keys []InboundKey) error {
	if tx.inbound == nil {
		tx.inbound = make(map[InboundKey]*txInbound, len(keys))
	}
	ids := make([]any, 0, len(keys))
	for _, k := range keys {
		if _, ok := tx.inbound[k]; !ok {
			tx.inbound[k] = &txInbound{}
			ids = append(ids, k.EventID)
		}
	}
	return inChunks(ids, func(ids []any) error {
		return tx.readInbound(ctx, inboundColumns+` WHERE event_id IN (`+tx.placeholders(len(ids))+`)`, ids...)
	})
}

// readInbound runs a query of dedupe records and keeps those of keys the
// transaction asked for.
func (tx *Tx) readInbound(ctx context.Context, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read inbound records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rec usher.InboundRecord
		var eventAt, receivedAt, processedAt int64
		var data string
		if err := rows.Scan(&rec.Source, &rec.EventID, &rec.PayloadHash, &rec.Type, &rec.OrderID, &rec.KeyID, &rec.Outcome, &rec.Reason,
			&data, &eventAt, &receivedAt, &processedAt); err != nil {
			return fmt.Errorf("scan inbound record: %w", err)
		}
		rec.Data = []byte(data)
		rec.EventAt, rec.ReceivedAt, rec.ProcessedAt = fromMicros(eventAt), fromMicros(receivedAt), fromMicros(processedAt)
		if e, ok := tx.inbound[InboundKey{rec.Source, rec.EventID}]; ok {
			e.rec, e.found = rec, true
		}
	}
	return rows.Err()
}

// placeholders returns n parameters: "$1, $2, …, $n", or "?, ?, …" on
// SQLite (see rowTable.query).
func (tx *Tx) placeholders(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		if tx.db.dialect.Name() == "sqlite" {
			b.WriteByte('?')
		} else {
			fmt.Fprintf(&b, "$%d", i)
		}
	}
	return b.String()
}

// InboundRecord returns the dedupe record of (source, eventID); found is false
// when the event was never processed.
func (tx *Tx) InboundRecord(ctx context.Context, source, eventID string) (rec usher.InboundRecord, found bool, err error) {
	k := InboundKey{source, eventID}
	if _, ok := tx.inbound[k]; !ok {
		if err := tx.PrefetchInbound(ctx, []InboundKey{k}); err != nil {
			return usher.InboundRecord{}, false, err
		}
	}
	e := tx.inbound[k]
	return e.rec, e.found, nil
}

// InsertInbound writes the dedupe record when the transaction commits, with
// the others in multi-row statements. A record the transaction knows of
// (read, prefetched or inserted) fails at once with ErrConflict; one that
// another processor commits meanwhile fails at the commit on the primary
// key, with ErrConflict too (InTx runs the transaction again and finds the
// record): the record is the guarantee even if two processors raced.
func (tx *Tx) InsertInbound(ctx context.Context, rec usher.InboundRecord) error {
	if _, found, err := tx.InboundRecord(ctx, rec.Source, rec.EventID); err != nil {
		return err
	} else if found {
		return fmt.Errorf("insert inbound record: %w", usher.ErrConflict)
	}
	tx.inbound[InboundKey{rec.Source, rec.EventID}] = &txInbound{rec: rec, found: true}
	tx.writes++
	tx.pend.inbound = append(tx.pend.inbound, []any{rec.Source, rec.EventID, rec.PayloadHash, rec.Type, rec.OrderID, rec.KeyID,
		rec.Outcome, rec.Reason, string(rec.Data), micros(rec.EventAt), micros(rec.ReceivedAt), micros(rec.ProcessedAt), rec.TraceID})
	return nil
}

var inboundTable = &rowTable{name: "inbound_events", columns: []string{"source", "event_id", "payload_hash", "type", "order_id",
	"key_id", "outcome", "reason", "data", "event_at", "received_at", "processed_at", "trace_id"}}

// flushInbound writes the dedupe records held back.
func (tx *Tx) flushInbound(ctx context.Context) error {
	if len(tx.pend.inbound) == 0 {
		return nil
	}
	if err := tx.insertRows(ctx, inboundTable, tx.pend.inbound); err != nil {
		if tx.db.dialect.UniqueViolation(err) {
			return fmt.Errorf("insert inbound record: %w", usher.ErrConflict)
		}
		return fmt.Errorf("insert inbound record: %w", err)
	}
	tx.pend.inbound = tx.pend.inbound[:0]
	return nil
}
