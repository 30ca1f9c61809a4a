package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

// heldTests hold the store to read-your-writes for the rows a transaction
// writes at its commit (new orders, tickets and buyers) and for what it
// keeps in memory (prefetched orders, tickets and buyer tokens).
var heldTests = []subtest{
	{"NewRowsVisibleToEveryStatementOfTheTransaction", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.InsertOrder(ctx, testOrder("ord_1"), testBuyer); err != nil {
				return err
			}
			if err := tx.InsertTickets(ctx, []usher.Ticket{testTicket("tkt_1", "ord_1", "CODE-1"), testTicket("tkt_2", "ord_1", "CODE-2")}); err != nil {
				return err
			}
			// Statements that read the tables: each must see the new rows.
			if got, err := tx.TicketByID(ctx, "tkt_2"); err != nil || got.OrderID != "ord_1" {
				t.Errorf("TicketByID(tkt_2) in the inserting transaction = %+v, %v", got, err)
			}
			if got, found, err := tx.TicketByCode(ctx, "CODE-1"); err != nil || !found || got.TicketID != "tkt_1" {
				t.Errorf("TicketByCode(CODE-1) in the inserting transaction = %+v, %v, %v", got, found, err)
			}
			// A compare-and-swap on a new ticket finds it.
			return tx.SwapTicketStatus(ctx, "tkt_1", usher.TicketValid, usher.TicketAdmitted)
		})
		o, err := db.OrderWithTickets(ctx, "ord_1")
		if err != nil {
			t.Fatalf("OrderWithTickets: %v", err)
		}
		if len(o.Tickets) != 2 || o.Tickets[0].Status != usher.TicketAdmitted || o.Tickets[1].Status != usher.TicketValid {
			t.Fatalf("tickets after commit = %+v, want tkt_1 admitted and tkt_2 valid", o.Tickets)
		}
	}},
	{"OrderInsertedAndUpdatedInOneTransactionIsWrittenAtItsLastVersion", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.InsertOrder(ctx, testOrder("ord_1"), testBuyer); err != nil {
				return err
			}
			o, found, err := tx.Order(ctx, "ord_1")
			if err != nil || !found || o.Version != 1 {
				t.Fatalf("Order after InsertOrder = %+v, %v, %v; want version 1", o, found, err)
			}
			o.Status, o.PaymentRef = usher.OrderRefunded, "pi_1"
			if err := tx.UpdateOrder(ctx, o); err != nil {
				return err
			}
			// The version it was read at no longer holds.
			if err := tx.UpdateOrder(ctx, o); !errors.Is(err, usher.ErrConflict) {
				t.Errorf("UpdateOrder at a stale version = %v, want ErrConflict", err)
			}
			if id, found, err := tx.OrderIDByPaymentRef(ctx, "pi_1"); err != nil || !found || id != "ord_1" {
				t.Errorf("OrderIDByPaymentRef(pi_1) in the transaction = %q, %v, %v", id, found, err)
			}
			return nil
		})
		o, err := db.OrderWithTickets(ctx, "ord_1")
		if err != nil {
			t.Fatalf("OrderWithTickets: %v", err)
		}
		if o.Version != 2 || o.Status != usher.OrderRefunded || o.PaymentRef != "pi_1" {
			t.Fatalf("order after commit = version %d, status %s, ref %q; want 2, refunded, pi_1", o.Version, o.Status, o.PaymentRef)
		}
	}},
	{"CachedOrdersReadAsTheirRows", func(t *testing.T, db *store.DB) {
		// Times kept in the transaction's memory must be what a read of
		// the row returns (whole microseconds, UTC), or a decision taken
		// in one batch could differ from the same one taken in two.
		ctx := t.Context()
		paid := time.Date(2026, 12, 2, 18, 0, 0, 123456789, time.FixedZone("x", 3600))
		var inTx usher.Order
		mustTx(t, db, func(tx *store.Tx) error {
			o := testOrder("ord_1")
			o.PaidAt = paid
			if err := tx.InsertOrder(ctx, o, testBuyer); err != nil {
				return err
			}
			var err error
			inTx, _, err = tx.Order(ctx, "ord_1")
			return err
		})
		var read usher.Order
		mustTx(t, db, func(tx *store.Tx) error {
			var err error
			read, _, err = tx.Order(ctx, "ord_1")
			return err
		})
		if !inTx.PaidAt.Equal(read.PaidAt) || inTx.PaidAt.Location() != time.UTC || inTx.PaidAt.Nanosecond()%1000 != 0 {
			t.Fatalf("paid_at in the inserting transaction %v, read back %v: want the same, whole microseconds, UTC", inTx.PaidAt, read.PaidAt)
		}
	}},
	{"SecondInsertOfAnOrderConflicts", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		err := tryTx(t, db, func(tx *store.Tx) error {
			if err := tx.InsertOrder(ctx, testOrder("ord_1"), testBuyer); err != nil {
				return err
			}
			return tx.InsertOrder(ctx, testOrder("ord_1"), testBuyer)
		})
		if !errors.Is(err, usher.ErrConflict) {
			t.Fatalf("a second InsertOrder in one transaction = %v, want ErrConflict", err)
		}
		mustTx(t, db, insertOrder(t, "ord_1"))
		err = tryTx(t, db, func(tx *store.Tx) error {
			if err := tx.PrefetchOrders(ctx, []string{"ord_1"}); err != nil {
				return err
			}
			return tx.InsertOrder(ctx, testOrder("ord_1"), testBuyer)
		})
		if !errors.Is(err, usher.ErrConflict) {
			t.Fatalf("InsertOrder of a stored order = %v, want ErrConflict", err)
		}
	}},
	{"PrefetchedOrdersFollowTheTransactionsWrites", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		mustTx(t, db, insertOrder(t, "ord_1"))
		mustTx(t, db, func(tx *store.Tx) error { return tx.InsertTicket(ctx, testTicket("tkt_1", "ord_1", "CODE-1")) })
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.PrefetchOrders(ctx, []string{"ord_1", "ord_missing"}); err != nil {
				return err
			}
			if _, found, err := tx.Order(ctx, "ord_missing"); err != nil || found {
				t.Errorf("Order(ord_missing) after prefetch = %v, %v; want not found", found, err)
			}
			ts, err := tx.TicketsOfOrder(ctx, "ord_1")
			if err != nil || len(ts) != 1 {
				t.Fatalf("TicketsOfOrder(ord_1) = %+v, %v; want tkt_1", ts, err)
			}
			revoked := ts[0]
			revoked.Status, revoked.RevokedBy = usher.TicketRevoked, "refund"
			if err := tx.UpdateTicket(ctx, revoked, usher.TicketValid, 1); err != nil {
				return err
			}
			if err := tx.InsertTicket(ctx, testTicket("tkt_0", "ord_1", "CODE-0")); err != nil {
				return err
			}
			ts, err = tx.TicketsOfOrder(ctx, "ord_1")
			if err != nil || len(ts) != 2 || ts[0].TicketID != "tkt_0" || ts[1].Status != usher.TicketRevoked {
				t.Errorf("TicketsOfOrder(ord_1) after the transaction's writes = %+v, %v; want tkt_0 then tkt_1 revoked", ts, err)
			}
			return nil
		})
	}},
	{"BuyerPutTwiceInOneTransactionKeepsOneToken", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		var first, second string
		mustTx(t, db, func(tx *store.Tx) error {
			var err error
			if first, err = tx.PutBuyer(ctx, "ord_1", testBuyer); err != nil {
				return err
			}
			second, err = tx.PutBuyer(ctx, "ord_1", usher.Buyer{Email: "other@example.com"})
			return err
		})
		if first == "" || first != second {
			t.Fatalf("tokens = %q, %q; want one token", first, second)
		}
		rec, err := db.BuyerRecord(ctx, "ord_1")
		if err != nil || rec.Token != first || rec.Buyer != testBuyer {
			t.Fatalf("BuyerRecord(ord_1) = %+v, %v; want the first buyer under %s", rec, err, first)
		}
	}},
	{"ConcurrentFirstBuyersOfAnOrderShareOneToken", func(t *testing.T, db *store.DB) {
		// Two transactions that both find no buyer for the order: the one
		// that commits second must end with the first one's token (on
		// PostgreSQL its insert skips the row and the transaction runs
		// again; on SQLite the writers take turns).
		ctx := t.Context()
		const writers = 4
		tokens := make([]string, writers)
		var wg sync.WaitGroup
		ready := make(chan struct{})
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-ready
				err := db.InTx(ctx, func(tx *store.Tx) error {
					var err error
					tokens[i], err = tx.PutBuyer(ctx, "ord_1", testBuyer)
					return err
				})
				if err != nil {
					t.Errorf("writer %d: %v", i, err)
				}
			}()
		}
		close(ready)
		wg.Wait()
		rec, err := db.BuyerRecord(context.Background(), "ord_1")
		if err != nil {
			t.Fatalf("BuyerRecord: %v", err)
		}
		for i, tok := range tokens {
			if tok != rec.Token {
				t.Errorf("writer %d got token %q, the vault holds %q", i, tok, rec.Token)
			}
		}
	}},
}
