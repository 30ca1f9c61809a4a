package storetest

import (
	"errors"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

// testOrder is a paid order of one show, for tests that need any write.
func testOrder(id string) usher.Order {
	return usher.Order{
		OrderID: id, ShowID: "show_1", VenueID: "venue_1", Status: usher.OrderPaid,
		Items: []usher.Item{{TicketType: "ga", Quantity: 2}},
	}
}

var testBuyer = usher.Buyer{Email: "ada@example.com", Name: "Ada"}

// insertOrder returns a transaction body that inserts testOrder(id).
func insertOrder(t *testing.T, id string) func(tx *store.Tx) error {
	return func(tx *store.Tx) error { return tx.InsertOrder(t.Context(), testOrder(id), testBuyer) }
}

// orderCommitted reports whether the order is visible outside any transaction.
func orderCommitted(t *testing.T, db *store.DB, id string) bool {
	t.Helper()
	_, err := db.OrderWithTickets(t.Context(), id)
	switch usher.ErrorCode(err) {
	case "":
		return true
	case usher.CodeNotFound:
		return false
	}
	t.Fatalf("OrderWithTickets(%s): %v", id, err)
	return false
}

var txTests = []subtest{
	{"CommitsOnNil", func(t *testing.T, db *store.DB) {
		mustTx(t, db, insertOrder(t, "ord_1"))
		if !orderCommitted(t, db, "ord_1") {
			t.Fatal("order written in a transaction that returned nil is not committed")
		}
	}},
	{"RollsBackOnError", func(t *testing.T, db *store.DB) {
		boom := errors.New("boom")
		calls := 0
		err := db.InTx(t.Context(), func(tx *store.Tx) error {
			calls++
			if err := insertOrder(t, "ord_1")(tx); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want fn's error", err)
		}
		if calls != 1 {
			t.Fatalf("fn ran %d times for a non-retryable error, want 1", calls)
		}
		if orderCommitted(t, db, "ord_1") {
			t.Fatal("write of a failed transaction was committed")
		}
	}},
	{"RetriesConflictFromScratch", func(t *testing.T, db *store.DB) {
		// Each attempt inserts the same order: if a failed attempt's write
		// were not rolled back, the next attempt would hit the primary key.
		calls := 0
		err := db.InTx(t.Context(), func(tx *store.Tx) error {
			calls++
			if err := insertOrder(t, "ord_1")(tx); err != nil {
				return err
			}
			if calls < 3 {
				return usher.ErrConflict
			}
			return nil
		})
		if err != nil {
			t.Fatalf("InTx after two conflicts: %v", err)
		}
		if calls != 3 {
			t.Fatalf("fn ran %d times, want 3", calls)
		}
		if !orderCommitted(t, db, "ord_1") {
			t.Fatal("order of the successful attempt is not committed")
		}
	}},
	{"GivesUpOnPersistentConflict", func(t *testing.T, db *store.DB) {
		calls := 0
		err := db.InTx(t.Context(), func(tx *store.Tx) error {
			calls++
			return usher.ErrConflict
		})
		if !errors.Is(err, usher.ErrConflict) || !errors.Is(err, usher.ErrTransient) {
			t.Fatalf("InTx = %v, want ErrConflict marked usher.ErrTransient", err)
		}
		if calls < 2 || calls > 100 {
			t.Fatalf("fn ran %d times, want a bounded number of retries", calls)
		}
	}},
}

// rejectedTests: a value the engine refuses every time is marked
// ErrRejected (and usher.ErrPermanent), never transient, and tried once.
var rejectedTests = []subtest{
	{"CheckViolationIsPermanent", func(t *testing.T, db *store.DB) {
		_, err := db.PutCapacity(t.Context(), "show_1", "GA", -1) // CHECK (sold + held <= capacity)
		if !errors.Is(err, usher.ErrRejected) || !errors.Is(err, usher.ErrPermanent) || errors.Is(err, usher.ErrTransient) {
			t.Fatalf("PutCapacity(-1) = %v, want ErrRejected, permanent, not transient", err)
		}
	}},
	{"OtherErrorsAreNotMarked", func(t *testing.T, db *store.DB) {
		boom := errors.New("boom")
		err := db.InTx(t.Context(), func(*store.Tx) error { return boom })
		if !errors.Is(err, boom) || errors.Is(err, usher.ErrRejected) || errors.Is(err, usher.ErrTransient) {
			t.Fatalf("InTx = %v, want boom unmarked", err)
		}
	}},
}

var savepointTests = []subtest{
	{"ErrorRollsBackOnlyItsWrites", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		boom := errors.New("boom")
		mustTx(t, db, func(tx *store.Tx) error {
			if err := insertOrder(t, "ord_before")(tx); err != nil {
				return err
			}
			err := tx.Savepoint(ctx, func() error {
				if err := insertOrder(t, "ord_inside")(tx); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Errorf("Savepoint = %v, want fn's error", err)
			}
			if _, found, err := tx.Order(ctx, "ord_inside"); err != nil || found {
				t.Errorf("inside the transaction after the rollback, Order(ord_inside) found=%v err=%v; want gone", found, err)
			}
			if _, found, err := tx.Order(ctx, "ord_before"); err != nil || !found {
				t.Errorf("inside the transaction after the rollback, Order(ord_before) found=%v err=%v; want kept", found, err)
			}
			return insertOrder(t, "ord_after")(tx)
		})
		for id, want := range map[string]bool{"ord_before": true, "ord_inside": false, "ord_after": true} {
			if got := orderCommitted(t, db, id); got != want {
				t.Errorf("committed(%s) = %v, want %v", id, got, want)
			}
		}
	}},
	{"FailedStatementDoesNotAbortTx", func(t *testing.T, db *store.DB) {
		// A failing statement aborts a PostgreSQL transaction; the savepoint
		// must bring it back so the rest of the transaction can commit.
		ctx := t.Context()
		mustTx(t, db, insertOrder(t, "ord_1"))
		mustTx(t, db, func(tx *store.Tx) error {
			err := tx.Savepoint(ctx, func() error { return insertOrder(t, "ord_1")(tx) })
			wantConflict(t, "duplicate InsertOrder inside a savepoint", err)
			return insertOrder(t, "ord_2")(tx)
		})
		if !orderCommitted(t, db, "ord_2") {
			t.Fatal("write after a failed statement in a savepoint is not committed")
		}
	}},
	{"RefusedHeldRowsInsideASavepointDoNotFailTheTx", func(t *testing.T, db *store.DB) {
		// New tickets are written at the commit or before the next
		// statement; the engine refusing them (here a ticket of no order,
		// a foreign key) fails a statement inside the savepoint, and the
		// transaction must go on after it.
		ctx := t.Context()
		mustTx(t, db, func(tx *store.Tx) error {
			err := tx.Savepoint(ctx, func() error {
				if err := tx.InsertTicket(ctx, testTicket("tkt_orphan", "ord_missing", "CODE-9")); err != nil {
					return err
				}
				return tx.Flush(ctx)
			})
			if err == nil {
				t.Fatal("a ticket of no order was written")
			}
			return insertOrder(t, "ord_2")(tx)
		})
		if !orderCommitted(t, db, "ord_2") {
			t.Fatal("write after refused held rows in a savepoint is not committed")
		}
	}},
	{"NilKeepsWrites", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.Savepoint(ctx, insertOrderNoArg(t, tx, "ord_1"))
		})
		if !orderCommitted(t, db, "ord_1") {
			t.Fatal("write of a successful savepoint is not committed")
		}
	}},
	{"Nested", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		boom := errors.New("boom")
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.Savepoint(ctx, func() error {
				if err := insertOrder(t, "ord_outer")(tx); err != nil {
					return err
				}
				err := tx.Savepoint(ctx, func() error {
					if err := insertOrder(t, "ord_inner")(tx); err != nil {
						return err
					}
					return boom
				})
				if !errors.Is(err, boom) {
					t.Errorf("inner Savepoint = %v, want fn's error", err)
				}
				return insertOrder(t, "ord_outer_after")(tx)
			})
		})
		for id, want := range map[string]bool{"ord_outer": true, "ord_inner": false, "ord_outer_after": true} {
			if got := orderCommitted(t, db, id); got != want {
				t.Errorf("committed(%s) = %v, want %v", id, got, want)
			}
		}
	}},
	{"ErrorThenTxErrorRollsBackAll", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.Savepoint(ctx, insertOrderNoArg(t, tx, "ord_1")); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx = %v, want the rollback sentinel", err)
		}
		if orderCommitted(t, db, "ord_1") {
			t.Fatal("a released savepoint's write survived the rollback of its transaction")
		}
	}},
}

func insertOrderNoArg(t *testing.T, tx *store.Tx, id string) func() error {
	return func() error { return insertOrder(t, id)(tx) }
}
