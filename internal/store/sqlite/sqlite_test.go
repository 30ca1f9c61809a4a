package sqlite_test

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/sqlite"
	"github.com/usherhq/usher/internal/store/storetest"
)

// open returns a store on a fresh database file in t's temporary directory.
func open(t *testing.T) *store.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "usher.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, open)
}

func TestMigrations(t *testing.T) {
	storetest.RunReopen(t, func(t *testing.T) func() (*store.DB, error) {
		path := filepath.Join(t.TempDir(), "usher.db")
		return func() (*store.DB, error) { return sqlite.Open(t.Context(), path) }
	})
}

// BenchmarkApplyTx measures the transaction that applies one inbound event:
// dedupe lookup, dedupe record, inventory read and compare-and-swap, with the
// commit on disk (WAL, synchronous=FULL).
func BenchmarkApplyTx(b *testing.B) {
	ctx := b.Context()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "usher.db"))
	if err != nil {
		b.Fatalf("sqlite.Open: %v", err)
	}
	defer db.Close()
	if _, err := db.PutCapacity(ctx, "show_1", "ga", math.MaxInt32); err != nil {
		b.Fatalf("PutCapacity: %v", err)
	}
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("evt_%d", i)
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if _, found, err := tx.InboundRecord(ctx, "stripe", id); err != nil || found {
				return fmt.Errorf("InboundRecord(%s) found=%v: %v", id, found, err)
			}
			inv, _, err := tx.Inventory(ctx, "show_1", "ga")
			if err != nil {
				return err
			}
			if err := tx.SwapSold(ctx, inv, 1); err != nil {
				return err
			}
			return tx.InsertInbound(ctx, usher.InboundRecord{
				Source: "stripe", EventID: id, PayloadHash: "sha256:" + id, Type: "order.paid", OrderID: "ord_" + id,
				KeyID: "key_1", Outcome: usher.OutcomeApplied, Data: []byte(`{"order_id":"ord"}`),
				EventAt: now, ReceivedAt: now, ProcessedAt: now,
			})
		})
		if err != nil {
			b.Fatalf("apply %s: %v", id, err)
		}
	}
}
