package usher

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"time"
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
	writeInt(h, unixMicros(r.At))
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

// unixMicros is t in microseconds since the epoch, 0 for the zero time: how
// the store keeps times, and so how a record's time enters its hash.
func unixMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}
