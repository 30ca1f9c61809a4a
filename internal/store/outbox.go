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

// AppendOutbox records an outbound event. The row is written when the
// transaction commits, in order with the others; an id already stored fails
// the transaction there.
func (tx *Tx) AppendOutbox(ctx context.Context, ev usher.OutboundEvent) error {
	tx.writes++
	tx.pend.outbox = append(tx.pend.outbox, []any{
		ev.ID, ev.Type, ev.OrderID, ev.VenueID, string(ev.Data), micros(tx.db.now()), ev.TraceParent})
	return nil
}

// OutboxAfter lists outbound events with seq greater than after, oldest first.
func (db *DB) OutboxAfter(ctx context.Context, after int64, limit int) ([]usher.OutboundEvent, error) {
	return db.queryOutbox(ctx, outboxColumns+` WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
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
