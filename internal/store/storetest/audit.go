package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/store"
)

// auditTests cover the hash-chained audit log: appends, queries, rollback,
// concurrency, and Verify against records tampered with in raw SQL.
var auditTests = append([]subtest{
	{"AppendAndList", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		before := time.Now().Add(-time.Millisecond)
		entries := []usher.AuditEntry{
			{Actor: "tok_1", Action: "source.created", EntityType: "source", EntityID: "shop", Detail: map[string]any{"scheme": "stripe"}},
			{Actor: "processor", Action: "order.paid", EntityType: "order", EntityID: "ord_1", OrderID: "ord_1"},
			{Actor: "processor", Action: "ticket.issued", EntityType: "ticket", EntityID: "tkt_1", OrderID: "ord_1", Detail: struct {
				Status string `json:"status"`
			}{"valid"}},
		}
		for _, e := range entries {
			if err := db.AppendAudit(ctx, e); err != nil {
				t.Fatalf("AppendAudit(%s): %v", e.Action, err)
			}
		}
		after := time.Now().Add(time.Millisecond)
		recs := auditLog(t, db, usher.AuditFilter{})
		if len(recs) != 3 {
			t.Fatalf("AuditLog = %d records, want 3", len(recs))
		}
		details := []string{`{"scheme":"stripe"}`, `{}`, `{"status":"valid"}`}
		prev := usher.AuditGenesis
		for i, r := range recs {
			e := entries[i]
			if r.Seq != int64(i+1) || r.Actor != e.Actor || r.Action != e.Action || r.EntityType != e.EntityType ||
				r.EntityID != e.EntityID || r.OrderID != e.OrderID || string(r.Detail) != details[i] {
				t.Errorf("record %d = %+v (detail %s), want seq %d of %+v (detail %s)", i, r, r.Detail, i+1, e, details[i])
			}
			if r.At.Before(before) || r.At.After(after) || r.At.Location() != time.UTC {
				t.Errorf("record %d at %v, want UTC between %v and %v", i, r.At, before, after)
			}
			if r.PrevHash != prev || r.Hash != usher.AuditHash(r) || len(r.Hash) != 64 {
				t.Errorf("record %d prev_hash %s hash %s, want prev_hash %s and hash %s", i, r.PrevHash, r.Hash, prev, usher.AuditHash(r))
			}
			prev = r.Hash
		}
		head, err := db.AuditHead(ctx)
		if err != nil || head != (usher.AuditHead{Seq: 3, Hash: recs[2].Hash}) {
			t.Fatalf("AuditHead = %+v, %v; want seq 3 with the last record's hash", head, err)
		}
		wantSound(t, db, 3)
	}},
	{"Filters", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		for i, e := range []usher.AuditEntry{
			{Actor: "processor", Action: "order.paid", OrderID: "ord_1"},
			{Actor: "tok_1", Action: "inventory.set"},
			{Actor: "processor", Action: "order.paid", OrderID: "ord_2"},
			{Actor: "tok_1", Action: "pii.read", OrderID: "ord_1"},
			{Actor: "processor", Action: "order.refunded", OrderID: "ord_1"},
		} {
			if err := db.AppendAudit(ctx, e); err != nil {
				t.Fatalf("AppendAudit %d: %v", i, err)
			}
		}
		all := auditLog(t, db, usher.AuditFilter{})
		for _, c := range []struct {
			name string
			f    usher.AuditFilter
			want []int64
		}{
			{"order", usher.AuditFilter{OrderID: "ord_1"}, []int64{1, 4, 5}},
			{"actor", usher.AuditFilter{Actor: "tok_1"}, []int64{2, 4}},
			{"order and actor", usher.AuditFilter{OrderID: "ord_1", Actor: "processor"}, []int64{1, 5}},
			{"after", usher.AuditFilter{After: 3}, []int64{4, 5}},
			{"limit", usher.AuditFilter{Limit: 2}, []int64{1, 2}},
			{"page", usher.AuditFilter{OrderID: "ord_1", After: 1, Limit: 1}, []int64{4}},
			{"since", usher.AuditFilter{Since: all[4].At}, seqsAtOrAfter(all, all[4].At)},
			{"since the future", usher.AuditFilter{Since: time.Now().Add(time.Hour)}, nil},
			{"unknown order", usher.AuditFilter{OrderID: "ord_9"}, nil},
		} {
			if got := seqs(auditLog(t, db, c.f)); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s: AuditLog(%+v) = seqs %v, want %v", c.name, c.f, got, c.want)
			}
		}
	}},
	{"RollbackLeavesNoRecordAndNoGap", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		err := tryTx(t, db, func(tx *store.Tx) error {
			if err := insertOrder(t, "ord_1")(tx); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, usher.AuditEntry{Actor: "processor", Action: "order.paid", OrderID: "ord_1"})
		})
		if err != nil {
			t.Fatalf("order and audit record in one transaction: %v", err)
		}
		if recs := auditLog(t, db, usher.AuditFilter{}); len(recs) != 0 {
			t.Fatalf("a rolled-back append left %+v", recs)
		}
		mustTx(t, db, func(tx *store.Tx) error {
			if err := insertOrder(t, "ord_1")(tx); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, usher.AuditEntry{Actor: "processor", Action: "order.paid", OrderID: "ord_1"})
		})
		recs := auditLog(t, db, usher.AuditFilter{})
		if len(recs) != 1 || recs[0].Seq != 1 || recs[0].PrevHash != usher.AuditGenesis {
			t.Fatalf("after a rollback and a commit: %+v, want one record at seq 1 after the genesis", recs)
		}
		wantSound(t, db, 1)
	}},
	{"EntryNeedsActorAndAction", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		for _, e := range []usher.AuditEntry{{Action: "order.paid"}, {Actor: "processor"}, {Actor: " ", Action: "x"}} {
			if err := db.AppendAudit(ctx, e); err == nil {
				t.Errorf("AppendAudit(%+v) succeeded", e)
			}
		}
		if err := db.AppendAudit(ctx, usher.AuditEntry{Actor: "a", Action: "b", Detail: func() {}}); err == nil {
			t.Error("AppendAudit with a detail that is not JSON succeeded")
		}
		wantSound(t, db, 0)
	}},
	{"ConcurrentAppendsMakeOneChain", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		const writers, each = 16, 12
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					// Half of the appends share a transaction with another write.
					err := db.InTx(ctx, func(tx *store.Tx) error {
						if i%2 == 0 {
							if _, err := tx.PutBuyer(ctx, fmt.Sprintf("ord_%d_%d", w, i), testBuyer); err != nil {
								return err
							}
						}
						return tx.AppendAudit(ctx, usher.AuditEntry{Actor: fmt.Sprintf("w%d", w), Action: "test", EntityID: fmt.Sprint(i)})
					})
					if err != nil {
						errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		wantSound(t, db, writers*each)
		seen := map[string]bool{}
		for after := int64(0); ; {
			page := auditLog(t, db, usher.AuditFilter{After: after, Limit: 50})
			if len(page) == 0 {
				break
			}
			for _, r := range page {
				key := r.Actor + "/" + r.EntityID
				if seen[key] {
					t.Fatalf("record %s appears twice", key)
				}
				seen[key] = true
			}
			after = page[len(page)-1].Seq
		}
		if len(seen) != writers*each {
			t.Fatalf("%d distinct records, want %d", len(seen), writers*each)
		}
	}},
	{"VerifyEmptyLog", func(t *testing.T, db *store.DB) {
		rep := wantSound(t, db, 0)
		if rep.Head != (usher.AuditHead{Seq: 0, Hash: usher.AuditGenesis}) {
			t.Fatalf("head of an empty log = %+v, want seq 0 and the genesis hash", rep.Head)
		}
	}},
}, tamperTests()...)

// tamperTests build a chain of five records, change it with raw SQL outside
// the store's API, and expect Verify to name the first broken record.
func tamperTests() []subtest {
	forged := func(t *testing.T, db *store.DB, seq int64, prev string) usher.AuditRecord {
		r := usher.AuditRecord{Seq: seq, At: time.Now().UTC().Truncate(time.Microsecond), Actor: "mallory", Action: "inventory.set",
			Detail: []byte(`{"capacity":1000}`), PrevHash: prev}
		r.Hash = usher.AuditHash(r)
		rawExec(t, db, `INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, order_id, detail, prev_hash, hash)
			VALUES ($1, $2, $3, $4, '', '', '', $5, $6, $7)`, r.Seq, r.At.UnixMicro(), r.Actor, r.Action, string(r.Detail), r.PrevHash, r.Hash)
		return r
	}
	cases := []struct {
		name    string
		tamper  func(t *testing.T, db *store.DB, recs []usher.AuditRecord)
		wantSeq int64
		reason  string
	}{
		{"EditedDetail", func(t *testing.T, db *store.DB, _ []usher.AuditRecord) {
			rawExec(t, db, `UPDATE audit_log SET detail = $1 WHERE seq = 3`, `{"capacity":1000}`)
		}, 3, "does not match its contents"},
		{"EditedActor", func(t *testing.T, db *store.DB, _ []usher.AuditRecord) {
			rawExec(t, db, `UPDATE audit_log SET actor = 'someone_else' WHERE seq = 1`)
		}, 1, "does not match its contents"},
		{"EditedTime", func(t *testing.T, db *store.DB, _ []usher.AuditRecord) {
			rawExec(t, db, `UPDATE audit_log SET at = at - 3600000000 WHERE seq = 4`)
		}, 4, "does not match its contents"},
		{"EditedHash", func(t *testing.T, db *store.DB, _ []usher.AuditRecord) {
			rawExec(t, db, `UPDATE audit_log SET hash = $1 WHERE seq = 2`, strings.Repeat("ab", 32))
		}, 2, "does not match its contents"},
		{"EditedAndRehashed", func(t *testing.T, db *store.DB, recs []usher.AuditRecord) {
			r := recs[1]
			r.Detail = []byte(`{"capacity":1000}`)
			rawExec(t, db, `UPDATE audit_log SET detail = $1, hash = $2 WHERE seq = 2`, string(r.Detail), usher.AuditHash(r))
		}, 3, "prev_hash does not match the hash of record 2"},
		{"DeletedRecord", func(t *testing.T, db *store.DB, _ []usher.AuditRecord) {
			rawExec(t, db, `DELETE FROM audit_log WHERE seq = 3`)
		}, 3, "missing"},
		{"DeletedFirstRecord", func(t *testing.T, db *store.DB, _ []usher.AuditRecord) {
			rawExec(t, db, `DELETE FROM audit_log WHERE seq = 1`)
		}, 1, "missing"},
		{"DeletedTail", func(t *testing.T, db *store.DB, _ []usher.AuditRecord) {
			rawExec(t, db, `DELETE FROM audit_log WHERE seq >= 4`)
		}, 4, "tail was removed"},
		{"SwappedRecords", func(t *testing.T, db *store.DB, _ []usher.AuditRecord) {
			rawExec(t, db, `UPDATE audit_log SET seq = -2 WHERE seq = 2`)
			rawExec(t, db, `UPDATE audit_log SET seq = 2 WHERE seq = 4`)
			rawExec(t, db, `UPDATE audit_log SET seq = 4 WHERE seq = -2`)
		}, 2, "does not match its contents"},
		{"InsertedRecord", func(t *testing.T, db *store.DB, recs []usher.AuditRecord) {
			// Make room at seq 4 and chain a forged record to record 3.
			rawExec(t, db, `UPDATE audit_log SET seq = 6 WHERE seq = 5`)
			rawExec(t, db, `UPDATE audit_log SET seq = 5 WHERE seq = 4`)
			forged(t, db, 4, recs[2].Hash)
		}, 5, "does not match its contents"},
		{"AppendedOutsideTheStore", func(t *testing.T, db *store.DB, recs []usher.AuditRecord) {
			forged(t, db, 6, recs[4].Hash)
		}, 6, "beyond the head"},
		{"DeletedHead", func(t *testing.T, db *store.DB, _ []usher.AuditRecord) {
			rawExec(t, db, `DELETE FROM audit_head`)
		}, 6, "head row is missing"},
		{"RewrittenLastRecordAndItsHash", func(t *testing.T, db *store.DB, recs []usher.AuditRecord) {
			r := recs[4]
			r.Actor = "someone_else"
			rawExec(t, db, `UPDATE audit_log SET actor = $1, hash = $2 WHERE seq = 5`, r.Actor, usher.AuditHash(r))
		}, 5, "head's hash differs"},
	}
	var out []subtest
	for _, c := range cases {
		out = append(out, subtest{"Verify" + c.name, func(t *testing.T, db *store.DB) {
			ctx := t.Context()
			for i := range 5 {
				e := usher.AuditEntry{Actor: "processor", Action: "order.paid", OrderID: fmt.Sprintf("ord_%d", i), Detail: map[string]int{"quantity": i}}
				if err := db.AppendAudit(ctx, e); err != nil {
					t.Fatalf("AppendAudit: %v", err)
				}
			}
			wantSound(t, db, 5)
			recs := auditLog(t, db, usher.AuditFilter{})
			c.tamper(t, db, recs)
			rep, err := audit.Verify(ctx, db)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if rep.OK() || rep.BadSeq != c.wantSeq || !strings.Contains(rep.Reason, c.reason) {
				t.Fatalf("Verify after the tampering = %v, want record %d reported: %q", rep, c.wantSeq, c.reason)
			}
		}})
	}
	return out
}

// wantSound verifies the chain and fails unless it is sound with n records.
func wantSound(t *testing.T, db *store.DB, n int) audit.Report {
	t.Helper()
	rep, err := audit.Verify(t.Context(), db)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.OK() || rep.Records != int64(n) || rep.Head.Seq != int64(n) {
		t.Fatalf("Verify = %v, want a sound chain of %d records", rep, n)
	}
	return rep
}

func auditLog(t *testing.T, db *store.DB, f usher.AuditFilter) []usher.AuditRecord {
	t.Helper()
	recs, err := db.AuditLog(t.Context(), f)
	if err != nil {
		t.Fatalf("AuditLog(%+v): %v", f, err)
	}
	return recs
}

func seqs(recs []usher.AuditRecord) []int64 {
	var out []int64
	for _, r := range recs {
		out = append(out, r.Seq)
	}
	return out
}

func seqsAtOrAfter(recs []usher.AuditRecord, since time.Time) []int64 {
	var out []int64
	for _, r := range recs {
		if !r.At.Before(since) {
			out = append(out, r.Seq)
		}
	}
	return out
}

// rawExec runs SQL outside the store's API, as someone with access to the
// database could: through the transaction's querier, not a store method.
func rawExec(t *testing.T, db *store.DB, query string, args ...any) {
	t.Helper()
	mustTx(t, db, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(t.Context(), query, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", query, err)
		}
		for rows.Next() {
		}
		return errors.Join(rows.Err(), rows.Close())
	})
}

// rawBytes reads one column of one row outside the store's API.
func rawBytes(t *testing.T, db *store.DB, query string, args ...any) [][]byte {
	t.Helper()
	var out [][]byte
	mustTx(t, db, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(t.Context(), query, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", query, err)
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				return err
			}
			out = append(out, b)
		}
		return rows.Err()
	})
	return out
}
