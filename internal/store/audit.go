package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// AuditGenesis is the prev_hash of the first audit record and the head's
// hash while the log is empty.
const AuditGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// auditHashVersion opens every hashed encoding, so that a later change of the
// encoding cannot be confused with this one (docs/audit.md).
const auditHashVersion = "usher-audit/1"

// Page sizes of AuditLog.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// AuditEntry is what a caller records: who (Actor: an admin token id, a
// source, "processor"), did what (Action, e.g. "order.paid",
// "source.created"), to which entity, and details. Detail is encoded as
// JSON (nil as {}); it must hold no personal data and no secret, because the
// log is never edited, not even to erase a buyer.
type AuditEntry struct {
	Actor      string
	Action     string
	EntityType string
	EntityID   string
	OrderID    string
	Detail     any
}

// AuditRecord is one record of the audit log as stored. Hash is AuditHash of
// the record; PrevHash is the Hash of the record before (AuditGenesis for
// the first).
type AuditRecord struct {
	Seq        int64           `json:"seq"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	EntityType string          `json:"entity_type"`
	EntityID   string          `json:"entity_id"`
	OrderID    string          `json:"order_id"`
	Detail     json.RawMessage `json:"detail"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// AuditHead is the chain's head: the last record's seq and hash (0 and
// AuditGenesis while the log is empty).
type AuditHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// AuditFilter selects audit records; zero fields select everything.
type AuditFilter struct {
	OrderID string
	Actor   string
	// EntityType and EntityID, when set, keep the records of one entity,
	// such as an incident's timeline.
	EntityType string
	EntityID   string
	// Since keeps records at or after this time.
	Since time.Time
	// After keeps records with a greater seq: the paging cursor.
	After int64
	// Limit bounds the page: DefaultAuditLimit when 0, at most MaxAuditLimit.
	Limit int
}

// AuditHash returns the hex SHA-256 of the record's canonical encoding: every
// field but Hash, each as an 8-byte big-endian integer or as such a length
// followed by the UTF-8 bytes, in the order documented in docs/audit.md.
func AuditHash(r AuditRecord) string {
	h := sha256.New()
	writeString(h, auditHashVersion)
	writeInt(h, r.Seq)
	writeInt(h, micros(r.At))
	for _, s := range []string{r.Actor, r.Action, r.EntityType, r.EntityID, r.OrderID, string(r.Detail), r.PrevHash} {
		writeString(h, s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeInt(h hash.Hash, n int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:])
}

func writeString(h hash.Hash, s string) {
	writeInt(h, int64(len(s)))
	_, _ = io.WriteString(h, s)
}

// AppendAudit appends a record to the audit chain inside the transaction, so
// that it commits or rolls back with the change it records. Taking the next
// seq locks the chain's head row until the transaction ends: appends from
// concurrent transactions queue there, so append as late in a transaction as
// possible.
func (tx *Tx) AppendAudit(ctx context.Context, e AuditEntry) error {
	if strings.TrimSpace(e.Actor) == "" || strings.TrimSpace(e.Action) == "" {
		return errors.New("audit entry needs an actor and an action")
	}
	detail := []byte("{}")
	if e.Detail != nil {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return fmt.Errorf("encode audit detail: %w", err)
		}
	}
	r := AuditRecord{
		Actor: e.Actor, Action: e.Action, EntityType: e.EntityType, EntityID: e.EntityID, OrderID: e.OrderID,
		Detail: detail,
	}
	if err := tx.queryRow(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).Scan(&r.Seq, &r.PrevHash); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	r.At = fromMicros(micros(tx.db.now()))
	r.Hash = AuditHash(r)
	if _, err := tx.exec(ctx, `INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, order_id, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.Seq, micros(r.At), r.Actor, r.Action, r.EntityType, r.EntityID, r.OrderID, string(r.Detail), r.PrevHash, r.Hash); err != nil {
		return fmt.Errorf("append audit record: %w", err)
	}
	if _, err := tx.exec(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, r.Hash); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	return nil
}

// AppendAudit appends a record in a transaction of its own, for actions that
// change nothing else in the store (a read of personal data) or whose change
// has its own transaction.
func (db *DB) AppendAudit(ctx context.Context, e AuditEntry) error {
	return db.InTx(ctx, func(tx *Tx) error { return tx.AppendAudit(ctx, e) })
}

// AuditLog lists the records that match f in seq order.
func (db *DB) AuditLog(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	limit = min(limit, MaxAuditLimit)
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
	out := []AuditRecord{}
	for rows.Next() {
		var r AuditRecord
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
func (db *DB) AuditHead(ctx context.Context) (AuditHead, error) {
	var h AuditHead
	err := db.read.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash)
	if isNoRows(err) {
		return AuditHead{}, usher.Errorf(usher.CodeNotFound, "the audit head row is missing")
	}
	if err != nil {
		return AuditHead{}, fmt.Errorf("read audit head: %w", err)
	}
	return h, nil
}
