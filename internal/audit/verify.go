package audit

import (
	"context"
	"fmt"

	"github.com/usherhq/usher"
)

// Store is the audit log as this package reads it; *store.DB is one.
type Store interface {
	AuditLog(ctx context.Context, f usher.AuditFilter) ([]usher.AuditRecord, error)
	AuditHead(ctx context.Context) (usher.AuditHead, error)
}

// Report is the outcome of Verify.
type Report struct {
	// Records counts the records found sound, from seq 1 on.
	Records int64
	// Head is the chain's head as Verify last read it.
	Head usher.AuditHead
	// BadSeq is the seq of the first broken record; Reason says why. Both
	// are zero when the chain is sound.
	BadSeq int64
	Reason string
}

// OK reports whether the whole chain is sound.
func (r Report) OK() bool { return r.Reason == "" }

// String is the one-line summary that `usher audit verify` prints.
func (r Report) String() string {
	if r.OK() {
		return fmt.Sprintf("OK: %d audit records, chain intact; head seq %d hash %s", r.Records, r.Head.Seq, r.Head.Hash)
	}
	return fmt.Sprintf("BROKEN at record %d: %s; the %d records before it are sound", r.BadSeq, r.Reason, r.Records)
}

// Verify walks the whole audit chain in seq order and reports the first
// record that breaks it: a gap in seq (a removed record), a hash that does
// not match the record's contents (an edited record or hash, or a record
// moved to another seq), a prev_hash that does not match the record before
// (a rewritten predecessor), or a head that does not match the last record
// (a removed tail, or records added outside the store). Records appended
// while it runs are checked too. A broken chain is a Report, not an error;
// the error is for a store that cannot be read.
func Verify(ctx context.Context, st Store) (Report, error) {
	var rep Report
	last := usher.AuditHead{Hash: usher.AuditGenesis} // the last sound record
	for {
		page, err := st.AuditLog(ctx, usher.AuditFilter{After: last.Seq, Limit: usher.MaxAuditLimit})
		if err != nil {
			return rep, fmt.Errorf("verify audit log: %w", err)
		}
		for _, r := range page {
			if seq, why := check(r, last); why != "" {
				rep.BadSeq, rep.Reason = seq, why
				return rep, nil
			}
			last = usher.AuditHead{Seq: r.Seq, Hash: r.Hash}
			rep.Records++
		}
		if len(page) == usher.MaxAuditLimit {
			continue
		}
		// The head is read after the last page: every record up to it has
		// committed (the head moves in the appending transaction).
		if rep.Head, err = st.AuditHead(ctx); err != nil {
			if usher.ErrorCode(err) == usher.CodeNotFound {
				rep.BadSeq, rep.Reason = last.Seq+1, "the head row is missing"
				return rep, nil
			}
			return rep, fmt.Errorf("verify audit log: %w", err)
		}
		switch head := rep.Head; {
		case head.Seq > last.Seq:
			// Appends landed after the page was read, or the tail is gone.
			more, err := st.AuditLog(ctx, usher.AuditFilter{After: last.Seq, Limit: 1})
			if err != nil {
				return rep, fmt.Errorf("verify audit log: %w", err)
			}
			if len(more) == 0 {
				rep.BadSeq = last.Seq + 1
				rep.Reason = fmt.Sprintf("missing: the log ends at record %d but its head is at %d (the tail was removed)", last.Seq, head.Seq)
				return rep, nil
			}
		case head.Seq < last.Seq:
			rep.BadSeq = head.Seq + 1
			rep.Reason = fmt.Sprintf("beyond the head (seq %d): added outside the store, or the head was rolled back", head.Seq)
			return rep, nil
		case head.Hash != last.Hash:
			rep.BadSeq = last.Seq
			rep.Reason = "the head's hash differs from the last record's (the last record or the head was rewritten)"
			if last.Seq == 0 {
				rep.BadSeq = 1
				rep.Reason = "the log is empty but its head is not the genesis hash"
			}
			return rep, nil
		default:
			return rep, nil
		}
	}
}

// check tests record r against the last sound record before it and returns
// the seq of the first broken record with the reason, or "" when r is sound.
func check(r usher.AuditRecord, last usher.AuditHead) (int64, string) {
	if r.Seq != last.Seq+1 {
		if last.Seq == 0 {
			return 1, fmt.Sprintf("missing: the log starts at record %d", r.Seq)
		}
		return last.Seq + 1, fmt.Sprintf("missing: record %d is followed by record %d", last.Seq, r.Seq)
	}
	if usher.AuditHash(r) != r.Hash {
		return r.Seq, "its hash does not match its contents (the record or its hash was edited, or it was moved from another seq)"
	}
	if r.PrevHash != last.Hash {
		if last.Seq == 0 {
			return r.Seq, "its prev_hash is not the genesis hash"
		}
		return r.Seq, fmt.Sprintf("its prev_hash does not match the hash of record %d (that record was rewritten, or one was inserted)", last.Seq)
	}
	return 0, ""
}
