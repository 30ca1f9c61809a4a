package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/usherhq/usher"
)

// AppendAudit appends a record to the audit chain inside the transaction, so
// that it commits or rolls back with the change it records. The records of a
// transaction are chained when it commits: one update of the chain's head
// row takes their seqs (and locks the head until the transaction ends, so
// concurrent appends queue there and the chain never forks), each record's
// hash covers the one before, and one more update stores the last hash.
func (tx *Tx) AppendAudit(ctx context.Context, e usher.AuditEntry) error {
	if strings.TrimSpace(e.Actor) == "" || strings.TrimSpace(e.Action) == "" {
		// The same entry is refused on every attempt: ErrRejected, so that
		// the processor sets its event aside instead of retrying it.
		return fmt.Errorf("audit entry needs an actor and an action: %w", usher.ErrRejected)
	}
	detail := []byte("{}")
	if e.Detail != nil {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return fmt.Errorf("encode audit detail: %w", err)
		}
	}
	tx.writes++
	tx.pend.audit = append(tx.pend.audit, usher.AuditRecord{
		Actor: e.Actor, Action: e.Action, EntityType: e.EntityType, EntityID: e.EntityID, OrderID: e.OrderID,
		Detail: detail, At: fromMicros(micros(tx.db.now())),
	})
	return nil
}

// flushAudit chains the records held back onto the head and writes them.
func (tx *Tx) flushAudit(ctx context.Context, recs []usher.AuditRecord) error {
	var last int64
	var prev string
	if err := tx.queryRow(ctx, `UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash`, len(recs)).Scan(&last, &prev); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	rows := make([][]any, len(recs))
	for i := range recs {
		r := &recs[i]
		r.Seq, r.PrevHash = last-int64(len(recs)-1-i), prev
		r.Hash = usher.AuditHash(*r)
		prev = r.Hash
		rows[i] = []any{r.Seq, micros(r.At), r.Actor, r.Action, r.EntityType, r.EntityID, r.OrderID, string(r.Detail), r.PrevHash, r.Hash}
	}
	if err := tx.insertRows(ctx, auditTable, rows); err != nil {
		return fmt.Errorf("append audit record: %w", err)
	}
	if _, err := tx.exec(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, prev); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	return nil
}

// AppendAudit appends a record in a transaction of its own, for actions that
// change nothing else in the store (a read of personal data) or whose change
// has its own transaction.
func (db *DB) AppendAudit(ctx context.Context, e usher.AuditEntry) error {
	return db.InTx(ctx, func(tx *Tx) error { return tx.AppendAudit(ctx, e) })
}

// AuditLog lists the records that match f in seq order.
func (db *DB) AuditLog(ctx context.Context, f usher.AuditFilter) ([]usher.AuditRecord, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = usher.DefaultAuditLimit
	}
	limit = min(limit, usher.MaxAuditLimit)
	query := auditColumns + ` WHERE seq > $1`
	args := []any{f.After}
	where := func(cond string, v any) {
		args = append(args, v)
		query += fmt.Sprintf(" AND %s $%d", cond, len(args))
	}
	if f.OrderID != "" {
		where("order_id =", f.OrderID)
	}
	if f.Actor != "" {
		where("actor =", f.Actor)
	}
	if f.EntityType != "" {
		where("entity_type =", f.EntityType)
		where("entity_id =", f.EntityID)
	}
	if !f.Since.IsZero() {
		where("at >=", micros(f.Since))
	}
	args = append(args, limit)
	query += fmt.Sprintf(" ORDER BY seq LIMIT $%d", len(args))
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit records: %w", err)
	}
	defer rows.Close()
	out := []usher.AuditRecord{}
	for rows.Next() {
		var r usher.AuditRecord
		var at int64
		var detail string
		if err := rows.Scan(&r.Seq, &at, &r.Actor, &r.Action, &r.EntityType, &r.EntityID, &r.OrderID, &detail, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("scan audit record: %w", err)
		}
		r.At, r.Detail = fromMicros(at), json.RawMessage(detail)
		out = append(out, r)
	}
	return out, rows.Err()
}

const auditColumns = `SELECT seq, at, actor, action, entity_type, entity_id, order_id, detail, prev_hash, hash FROM audit_log`

// AuditHead returns the chain's head, or a usher.CodeNotFound error when its
// row is gone (the migration creates it; only tampering removes it).
func (db *DB) AuditHead(ctx context.Context) (usher.AuditHead, error) {
	var h usher.AuditHead
	err := db.read.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash)
	if isNoRows(err) {
		return usher.AuditHead{}, usher.Errorf(usher.CodeNotFound, "the audit head row is missing")
	}
	if err != nil {
		return usher.AuditHead{}, fmt.Errorf("read audit head: %w", err)
	}
	return h, nil
}
