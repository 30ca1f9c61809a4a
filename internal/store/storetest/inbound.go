package storetest

import (
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

func testInbound(source, eventID string, processedAt time.Time) usher.InboundRecord {
	return usher.InboundRecord{
		Source: source, EventID: eventID, PayloadHash: "sha256:" + eventID, Type: "order.paid",
		OrderID: "ord_1", KeyID: "key_1", Outcome: usher.OutcomeApplied, Reason: "",
		Data:    []byte(`{"order_id":"ord_1"}`),
		EventAt: processedAt.Add(-2 * time.Second), ReceivedAt: processedAt.Add(-time.Second), ProcessedAt: processedAt,
	}
}

func insertInbound(t *testing.T, db *store.DB, rec usher.InboundRecord) {
	t.Helper()
	mustTx(t, db, func(tx *store.Tx) error { return tx.InsertInbound(t.Context(), rec) })
}

func readInbound(t *testing.T, db *store.DB, source, eventID string) (usher.InboundRecord, bool) {
	t.Helper()
	var rec usher.InboundRecord
	var found bool
	mustTx(t, db, func(tx *store.Tx) error {
		var err error
		rec, found, err = tx.InboundRecord(t.Context(), source, eventID)
		return err
	})
	return rec, found
}

// sameInbound compares every field InboundRecord reads back. Data is written
// by InsertInbound but not selected by InboundRecord, so it is not compared.
func sameInbound(t *testing.T, got, want usher.InboundRecord) {
	t.Helper()
	if got.Source != want.Source || got.EventID != want.EventID || got.PayloadHash != want.PayloadHash ||
		got.Type != want.Type || got.OrderID != want.OrderID || got.KeyID != want.KeyID ||
		got.Outcome != want.Outcome || got.Reason != want.Reason {
		t.Errorf("record = %+v, want %+v", got, want)
	}
	for _, c := range []struct {
		name      string
		got, want time.Time
	}{
		{"EventAt", got.EventAt, want.EventAt},
		{"ReceivedAt", got.ReceivedAt, want.ReceivedAt},
		{"ProcessedAt", got.ProcessedAt, want.ProcessedAt},
	} {
		if !c.got.Equal(micro(c.want)) {
			t.Errorf("%s = %v, want %v", c.name, c.got, micro(c.want))
		}
	}
}

var inboundTests = []subtest{
	{"RoundTrip", func(t *testing.T, db *store.DB) {
		want := testInbound("stripe", "evt_1", time.Now())
		want.Outcome, want.Reason = usher.OutcomeIgnored, "unhandled_type"
		insertInbound(t, db, want)
		got, found := readInbound(t, db, "stripe", "evt_1")
		if !found {
			t.Fatal("InboundRecord after InsertInbound: not found")
		}
		sameInbound(t, got, want)
	}},
	{"NotFound", func(t *testing.T, db *store.DB) {
		if rec, found := readInbound(t, db, "stripe", "evt_missing"); found {
			t.Fatalf("InboundRecord of an unknown event = %+v, found", rec)
		}
	}},
	{"ZeroTimes", func(t *testing.T, db *store.DB) {
		want := usher.InboundRecord{Source: "stripe", EventID: "evt_1", Outcome: usher.OutcomeApplied}
		insertInbound(t, db, want)
		got, found := readInbound(t, db, "stripe", "evt_1")
		if !found {
			t.Fatal("not found")
		}
		if !got.EventAt.IsZero() || !got.ReceivedAt.IsZero() || !got.ProcessedAt.IsZero() {
			t.Fatalf("zero times read back as %v, %v, %v", got.EventAt, got.ReceivedAt, got.ProcessedAt)
		}
	}},
	{"DuplicateIsConflict", func(t *testing.T, db *store.DB) {
		rec := testInbound("stripe", "evt_1", time.Now())
		insertInbound(t, db, rec)
		other := rec
		other.PayloadHash = "sha256:other"
		err := tryTx(t, db, func(tx *store.Tx) error { return tx.InsertInbound(t.Context(), other) })
		wantConflict(t, "second InsertInbound of (stripe, evt_1)", err)
		got, _ := readInbound(t, db, "stripe", "evt_1")
		if got.PayloadHash != rec.PayloadHash {
			t.Fatalf("payload hash = %q after the refused duplicate, want the first %q", got.PayloadHash, rec.PayloadHash)
		}
	}},
	{"DuplicateInOneTxIsConflict", func(t *testing.T, db *store.DB) {
		rec := testInbound("stripe", "evt_1", time.Now())
		err := tryTx(t, db, func(tx *store.Tx) error {
			if err := tx.InsertInbound(t.Context(), rec); err != nil {
				t.Errorf("first InsertInbound: %v", err)
				return nil
			}
			return tx.InsertInbound(t.Context(), rec)
		})
		wantConflict(t, "second InsertInbound in one transaction", err)
	}},
	{"SourcesAreSeparate", func(t *testing.T, db *store.DB) {
		now := time.Now()
		a, b := testInbound("stripe", "evt_1", now), testInbound("checkout", "evt_1", now)
		b.PayloadHash = "sha256:checkout"
		insertInbound(t, db, a)
		insertInbound(t, db, b)
		gotA, foundA := readInbound(t, db, "stripe", "evt_1")
		gotB, foundB := readInbound(t, db, "checkout", "evt_1")
		if !foundA || !foundB {
			t.Fatalf("found stripe=%v checkout=%v, want both", foundA, foundB)
		}
		sameInbound(t, gotA, a)
		sameInbound(t, gotB, b)
	}},
	{"PruneRespectsCutoffAndLimit", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Now().Truncate(time.Microsecond)
		cutoff := now.Add(-30 * time.Minute)
		ages := map[string]time.Time{
			"evt_3h": now.Add(-3 * time.Hour), "evt_2h": now.Add(-2 * time.Hour), "evt_1h": now.Add(-time.Hour),
			"evt_cutoff": cutoff, // not older than the cutoff: kept
			"evt_now":    now,
		}
		for id, at := range ages {
			insertInbound(t, db, testInbound("stripe", id, at))
		}
		if n, err := db.PruneInbound(ctx, cutoff, 0); err != nil || n != 0 {
			t.Fatalf("PruneInbound(limit 0) = %d, %v; want 0", n, err)
		}
		n, err := db.PruneInbound(ctx, cutoff, 2)
		if err != nil || n != 2 {
			t.Fatalf("PruneInbound(limit 2) = %d, %v; want 2", n, err)
		}
		// The limit takes the oldest first.
		for id, want := range map[string]bool{"evt_3h": false, "evt_2h": false, "evt_1h": true, "evt_cutoff": true, "evt_now": true} {
			if _, found := readInbound(t, db, "stripe", id); found != want {
				t.Errorf("after the first prune, found(%s) = %v, want %v", id, found, want)
			}
		}
		n, err = db.PruneInbound(ctx, cutoff, 100)
		if err != nil || n != 1 {
			t.Fatalf("PruneInbound(limit 100) = %d, %v; want 1", n, err)
		}
		for id, want := range map[string]bool{"evt_1h": false, "evt_cutoff": true, "evt_now": true} {
			if _, found := readInbound(t, db, "stripe", id); found != want {
				t.Errorf("after the second prune, found(%s) = %v, want %v", id, found, want)
			}
		}
		if n, err := db.PruneInbound(ctx, cutoff, 100); err != nil || n != 0 {
			t.Fatalf("PruneInbound with nothing to prune = %d, %v; want 0", n, err)
		}
	}},
	{"RecordsOfOrderAndCount", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Now()
		first, second := testInbound("stripe", "evt_b", now.Add(-time.Minute)), testInbound("stripe", "evt_a", now)
		second.Outcome = usher.OutcomeIgnored
		first.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		other := testInbound("stripe", "evt_c", now)
		other.OrderID = "ord_2"
		for _, r := range []usher.InboundRecord{second, other, first} {
			insertInbound(t, db, r)
		}
		recs, err := db.InboundRecords(ctx, "ord_1")
		if err != nil {
			t.Fatalf("InboundRecords: %v", err)
		}
		if len(recs) != 2 || recs[0].EventID != "evt_b" || recs[1].EventID != "evt_a" {
			t.Fatalf("InboundRecords(ord_1) = %+v, want evt_b then evt_a (oldest first)", recs)
		}
		sameInbound(t, recs[0], first)
		byEvent, err := db.InboundByEvent(ctx, "evt_b")
		if err != nil || len(byEvent) != 1 || recs[0].TraceID != first.TraceID || byEvent[0].TraceID != first.TraceID || recs[1].TraceID != "" {
			t.Fatalf("trace ids read back %q (by order), %+v %v (by event); want %q and none for evt_a", recs[0].TraceID, byEvent, err, first.TraceID)
		}
		counts, err := db.CountInbound(ctx)
		if err != nil {
			t.Fatalf("CountInbound: %v", err)
		}
		if counts[usher.OutcomeApplied] != 2 || counts[usher.OutcomeIgnored] != 1 || len(counts) != 2 {
			t.Fatalf("CountInbound = %v, want applied:2 ignored:1", counts)
		}
	}},
}
