package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

func putCapacity(t *testing.T, db *store.DB, show, ticketType string, capacity int) usher.Inventory {
	t.Helper()
	inv, err := db.PutCapacity(t.Context(), show, ticketType, capacity)
	if err != nil {
		t.Fatalf("PutCapacity(%s, %s, %d): %v", show, ticketType, capacity, err)
	}
	return inv
}

// readInventory reads one row inside a transaction of its own.
func readInventory(t *testing.T, db *store.DB, show, ticketType string) (usher.Inventory, bool) {
	t.Helper()
	var inv usher.Inventory
	var found bool
	mustTx(t, db, func(tx *store.Tx) error {
		var err error
		inv, found, err = tx.Inventory(t.Context(), show, ticketType)
		return err
	})
	return inv, found
}

// sell changes sold by delta at the row's current version and commits.
func sell(t *testing.T, db *store.DB, show, ticketType string, delta int) {
	t.Helper()
	mustTx(t, db, func(tx *store.Tx) error {
		inv, found, err := tx.Inventory(t.Context(), show, ticketType)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("no inventory %s/%s", show, ticketType)
		}
		return tx.SwapSold(t.Context(), inv, delta)
	})
}

func wantInventory(t *testing.T, got usher.Inventory, show, ticketType string, capacity, sold int, version int64) {
	t.Helper()
	want := usher.Inventory{ShowID: show, TicketType: ticketType, Capacity: capacity, Sold: sold, Held: 0, Available: capacity - sold, Version: version}
	if got != want {
		t.Fatalf("inventory = %+v, want %+v", got, want)
	}
}

var inventoryTests = []subtest{
	{"PutCapacityCreatesAndUpdates", func(t *testing.T, db *store.DB) {
		inv := putCapacity(t, db, "show_1", "ga", 100)
		wantInventory(t, inv, "show_1", "ga", 100, 0, 1)
		got, found := readInventory(t, db, "show_1", "ga")
		if !found {
			t.Fatal("Inventory after PutCapacity: not found")
		}
		wantInventory(t, got, "show_1", "ga", 100, 0, 1)

		inv = putCapacity(t, db, "show_1", "ga", 150)
		wantInventory(t, inv, "show_1", "ga", 150, 0, 2)
		got, _ = readInventory(t, db, "show_1", "ga")
		wantInventory(t, got, "show_1", "ga", 150, 0, 2)

		sell(t, db, "show_1", "ga", 30)
		inv = putCapacity(t, db, "show_1", "ga", 30) // down to exactly what is sold
		wantInventory(t, inv, "show_1", "ga", 30, 30, 4)
		got, _ = readInventory(t, db, "show_1", "ga")
		wantInventory(t, got, "show_1", "ga", 30, 30, 4)
	}},
	{"CapacityBelowSoldRefused", func(t *testing.T, db *store.DB) {
		putCapacity(t, db, "show_1", "ga", 10)
		sell(t, db, "show_1", "ga", 6)
		_, err := db.PutCapacity(t.Context(), "show_1", "ga", 5)
		wantCode(t, "PutCapacity below sold", err, usher.CodeConflict)
		got, _ := readInventory(t, db, "show_1", "ga")
		wantInventory(t, got, "show_1", "ga", 10, 6, 2)
	}},
	{"MissingRow", func(t *testing.T, db *store.DB) {
		if inv, found := readInventory(t, db, "show_1", "ga"); found {
			t.Fatalf("Inventory of an unknown ticket type = %+v, found", inv)
		}
		err := tryTx(t, db, func(tx *store.Tx) error {
			return tx.SwapSold(t.Context(), usher.Inventory{ShowID: "show_1", TicketType: "ga", Version: 1}, 1)
		})
		wantConflict(t, "SwapSold of a missing row", err)
	}},
	{"SwapSoldVersionCAS", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		v1 := putCapacity(t, db, "show_1", "ga", 10)
		mustTx(t, db, func(tx *store.Tx) error { return tx.SwapSold(ctx, v1, 3) })
		got, _ := readInventory(t, db, "show_1", "ga")
		wantInventory(t, got, "show_1", "ga", 10, 3, 2)

		err := tryTx(t, db, func(tx *store.Tx) error { return tx.SwapSold(ctx, v1, 1) })
		wantConflict(t, "SwapSold at a stale version", err)
		got, _ = readInventory(t, db, "show_1", "ga")
		wantInventory(t, got, "show_1", "ga", 10, 3, 2)

		// Two swaps in one transaction: the second must use the new version.
		err = tryTx(t, db, func(tx *store.Tx) error {
			if err := tx.SwapSold(ctx, got, 1); err != nil {
				t.Errorf("first SwapSold: %v", err)
				return nil
			}
			return tx.SwapSold(ctx, got, 1)
		})
		wantConflict(t, "second SwapSold at the version the first consumed", err)

		mustTx(t, db, func(tx *store.Tx) error { return tx.SwapSold(ctx, got, -3) })
		got, _ = readInventory(t, db, "show_1", "ga")
		wantInventory(t, got, "show_1", "ga", 10, 0, 3)
	}},
	{"SwapSoldStaysInBounds", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		putCapacity(t, db, "show_1", "ga", 5)
		sell(t, db, "show_1", "ga", 2)
		cur, _ := readInventory(t, db, "show_1", "ga")
		for _, delta := range []int{-3, 4, 100, -100} {
			err := tryTx(t, db, func(tx *store.Tx) error { return tx.SwapSold(ctx, cur, delta) })
			wantConflict(t, fmt.Sprintf("SwapSold(%+d) from sold 2 of 5", delta), err)
		}
		got, _ := readInventory(t, db, "show_1", "ga")
		wantInventory(t, got, "show_1", "ga", 5, 2, 2)
		// The bounds themselves are reachable.
		sell(t, db, "show_1", "ga", 3)
		got, _ = readInventory(t, db, "show_1", "ga")
		wantInventory(t, got, "show_1", "ga", 5, 5, 3)
		err := tryTx(t, db, func(tx *store.Tx) error { return tx.SwapSold(ctx, got, 1) })
		wantConflict(t, "SwapSold(+1) of a full row", err)
		sell(t, db, "show_1", "ga", -5)
		got, _ = readInventory(t, db, "show_1", "ga")
		wantInventory(t, got, "show_1", "ga", 5, 0, 4)
		err = tryTx(t, db, func(tx *store.Tx) error { return tx.SwapSold(ctx, got, -1) })
		wantConflict(t, "SwapSold(-1) of an empty row", err)
	}},
	{"ShowAndAllInventory", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		putCapacity(t, db, "show_2", "vip", 5)
		putCapacity(t, db, "show_1", "vip", 20)
		putCapacity(t, db, "show_1", "ga", 100)
		sell(t, db, "show_1", "vip", 7)

		show, err := db.ShowInventory(ctx, "show_1")
		if err != nil {
			t.Fatalf("ShowInventory: %v", err)
		}
		if len(show) != 2 {
			t.Fatalf("ShowInventory(show_1) = %+v, want 2 rows", show)
		}
		wantInventory(t, show[0], "show_1", "ga", 100, 0, 1)
		wantInventory(t, show[1], "show_1", "vip", 20, 7, 2)
		if none, err := db.ShowInventory(ctx, "show_none"); err != nil || len(none) != 0 {
			t.Fatalf("ShowInventory(show_none) = %+v, %v; want empty", none, err)
		}

		all, err := db.AllInventory(ctx)
		if err != nil {
			t.Fatalf("AllInventory: %v", err)
		}
		if len(all) != 3 {
			t.Fatalf("AllInventory = %+v, want 3 rows", all)
		}
		wantInventory(t, all[0], "show_1", "ga", 100, 0, 1)
		wantInventory(t, all[1], "show_1", "vip", 20, 7, 2)
		wantInventory(t, all[2], "show_2", "vip", 5, 0, 1)
		for _, inv := range all {
			if inv.Available != inv.Capacity-inv.Sold-inv.Held {
				t.Errorf("%s/%s Available = %d, want capacity-sold-held = %d", inv.ShowID, inv.TicketType, inv.Available, inv.Capacity-inv.Sold-inv.Held)
			}
		}
	}},
	{"NoOversellUnderConcurrency", func(t *testing.T, db *store.DB) {
		const capacity, buyers = 10, 16
		ctx := t.Context()
		putCapacity(t, db, "show_1", "ga", capacity)

		errNoSeat := errors.New("no seat")
		var (
			wg                sync.WaitGroup
			mu                sync.Mutex
			succeeded, noSeat int
			failures          []error
		)
		start := make(chan struct{})
		for i := range buyers {
			wg.Go(func() {
				<-start
				err := db.InTx(ctx, func(tx *store.Tx) error {
					inv, found, err := tx.Inventory(ctx, "show_1", "ga")
					if err != nil {
						return err
					}
					if !found {
						return fmt.Errorf("buyer %d: inventory row missing", i)
					}
					if inv.Available == 0 {
						return errNoSeat // full: stop trying
					}
					return tx.SwapSold(ctx, inv, 1)
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					succeeded++
				case errors.Is(err, errNoSeat):
					noSeat++
				default:
					failures = append(failures, fmt.Errorf("buyer %d: %w", i, err))
				}
			})
		}
		close(start)
		wg.Wait()
		for _, err := range failures {
			t.Errorf("unexpected failure: %v", err)
		}
		if succeeded != capacity || noSeat != buyers-capacity {
			t.Errorf("%d bought a seat and %d saw none, want %d and %d", succeeded, noSeat, capacity, buyers-capacity)
		}
		got, _ := readInventory(t, db, "show_1", "ga")
		wantInventory(t, got, "show_1", "ga", capacity, capacity, 1+capacity)
	}},
}
