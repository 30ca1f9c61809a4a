package storetest

import (
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

// leaseTests cover the renewal of delivery leases and their release at
// the start of an instance's next run.
var leaseTests = []subtest{
	{"RenewKeepsTheClaim", func(t *testing.T, db *store.DB) {
		now := time.Now()
		enqueue(t, db, "sub_a", now, appendEvents(t, db, "ord_a", "ord_b")...)
		got := claim(t, db, "sub_a", now, 2) // leased for a minute
		if len(got) != 2 {
			t.Fatalf("claim = %d deliveries, want 2", len(got))
		}
		if err := settle(t, db, got[1], usher.DeliveryDelivered, now); err != nil {
			t.Fatal(err)
		}
		n, err := db.RenewDeliveries(t.Context(), []int64{got[0].ID, got[1].ID}, got[0].LeaseToken, now.Add(5*time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("RenewDeliveries = %d, %v; want the one still held", n, err)
		}
		if again := claim(t, db, "sub_a", now.Add(2*time.Minute), 2); len(again) != 0 {
			t.Fatalf("claimed %d deliveries under a renewed lease, want none", len(again))
		}
		if n, err := db.RenewDeliveries(t.Context(), []int64{got[0].ID}, "another", now.Add(time.Hour)); err != nil || n != 0 {
			t.Fatalf("RenewDeliveries under another token = %d, %v; want 0", n, err)
		}
		if again := claim(t, db, "sub_a", now.Add(6*time.Minute), 2); len(again) != 1 {
			t.Fatalf("claimed %d deliveries once the renewed lease passed, want 1", len(again))
		}
	}},
	{"ReleaseLeasesTakesOnlyThePrefix", func(t *testing.T, db *store.DB) {
		now := time.Now()
		evs := appendEvents(t, db, "ord_a", "ord_b")
		enqueue(t, db, "sub_a", now, evs...)
		for i, token := range []string{"node1.run1.x", "node10.run1.y"} {
			ds, err := db.ClaimDeliveries(t.Context(), "sub_a", now, now.Add(time.Hour), token, 1)
			if err != nil || len(ds) != 1 {
				t.Fatalf("claim %d = %d deliveries, %v; want 1", i, len(ds), err)
			}
		}
		if n, err := db.ReleaseLeases(t.Context(), ""); err != nil || n != 0 {
			t.Fatalf("ReleaseLeases(\"\") = %d, %v; want nothing released", n, err)
		}
		n, err := db.ReleaseLeases(t.Context(), "node1.")
		if err != nil || n != 1 {
			t.Fatalf("ReleaseLeases(node1.) = %d, %v; want 1", n, err)
		}
		got := claim(t, db, "sub_a", now, 2)
		if len(got) != 1 || got[0].EventID != evs[0].ID {
			t.Fatalf("claimable after the release: %v, want only %s (node10's lease holds)", eventIDs(got), evs[0].ID)
		}
	}},
}
