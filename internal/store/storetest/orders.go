package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

func testTicket(id, orderID, code string) usher.Ticket {
	return usher.Ticket{
		TicketID: id, OrderID: orderID, ShowID: "show_1", VenueID: "venue_1",
		TicketType: "ga", Status: usher.TicketValid, Code: code, Generation: 1,
	}
}

func readOrder(t *testing.T, db *store.DB, id string) (usher.Order, bool) {
	t.Helper()
	var o usher.Order
	var found bool
	mustTx(t, db, func(tx *store.Tx) error {
		var err error
		o, found, err = tx.Order(t.Context(), id)
		return err
	})
	return o, found
}

// sameOrder compares an order read back with the one inserted, at version.
func sameOrder(t *testing.T, got, want usher.Order, status usher.OrderStatus, version int64) {
	t.Helper()
	if got.OrderID != want.OrderID || got.ShowID != want.ShowID || got.VenueID != want.VenueID ||
		got.Status != status || got.Version != version || !reflect.DeepEqual(got.Items, want.Items) {
		t.Fatalf("order = %+v, want %+v with status %s at version %d", got, want, status, version)
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt.Before(got.CreatedAt) {
		t.Fatalf("order times created=%v updated=%v", got.CreatedAt, got.UpdatedAt)
	}
	if d := time.Since(got.CreatedAt); d < -time.Minute || d > time.Hour {
		t.Fatalf("order created at %v, not about now", got.CreatedAt)
	}
}

func sameTicket(t *testing.T, got, want usher.Ticket, status usher.TicketStatus) {
	t.Helper()
	w := want
	w.Status, w.CreatedAt, w.UpdatedAt = status, got.CreatedAt, got.UpdatedAt
	if got != w {
		t.Fatalf("ticket = %+v, want %+v", got, w)
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt.Before(got.CreatedAt) {
		t.Fatalf("ticket times created=%v updated=%v", got.CreatedAt, got.UpdatedAt)
	}
}

var orderTests = []subtest{
	{"InsertAndRead", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		want := testOrder("ord_1")
		want.Items = []usher.Item{{TicketType: "ga", Quantity: 2}, {TicketType: "vip", Quantity: 1}}
		mustTx(t, db, func(tx *store.Tx) error { return tx.InsertOrder(ctx, want, testBuyer) })
		got, found := readOrder(t, db, "ord_1")
		if !found {
			t.Fatal("Order after InsertOrder: not found")
		}
		sameOrder(t, got, want, usher.OrderPaid, 1)
		withTickets, err := db.OrderWithTickets(ctx, "ord_1")
		if err != nil {
			t.Fatalf("OrderWithTickets: %v", err)
		}
		sameOrder(t, withTickets, want, usher.OrderPaid, 1)
		if withTickets.Tickets == nil || len(withTickets.Tickets) != 0 {
			t.Fatalf("tickets of an order without any = %#v, want empty", withTickets.Tickets)
		}
	}},
	{"NotFound", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if o, found := readOrder(t, db, "ord_missing"); found {
			t.Fatalf("Order(ord_missing) = %+v, found", o)
		}
		_, err := db.OrderWithTickets(ctx, "ord_missing")
		wantCode(t, "OrderWithTickets(ord_missing)", err, usher.CodeNotFound)
		_, err = db.Ticket(ctx, "tkt_missing")
		wantCode(t, "Ticket(tkt_missing)", err, usher.CodeNotFound)
		mustTx(t, db, func(tx *store.Tx) error {
			ts, err := tx.TicketsOfOrder(ctx, "ord_missing")
			if err == nil && len(ts) != 0 {
				t.Errorf("TicketsOfOrder(ord_missing) = %+v, want none", ts)
			}
			return err
		})
	}},
	{"DuplicateOrderIsConflict", func(t *testing.T, db *store.DB) {
		mustTx(t, db, insertOrder(t, "ord_1"))
		err := tryTx(t, db, insertOrder(t, "ord_1"))
		wantConflict(t, "second InsertOrder(ord_1)", err)
	}},
	{"UpdateOrderCAS", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		want := testOrder("ord_1")
		mustTx(t, db, insertOrder(t, "ord_1"))
		v1, _ := readOrder(t, db, "ord_1")
		mustTx(t, db, func(tx *store.Tx) error { return tx.UpdateOrder(ctx, withStatus(v1, usher.OrderPartiallyRefunded)) })
		v2, _ := readOrder(t, db, "ord_1")
		sameOrder(t, v2, want, usher.OrderPartiallyRefunded, 2)

		err := tryTx(t, db, func(tx *store.Tx) error { return tx.UpdateOrder(ctx, withStatus(v1, usher.OrderChargedBack)) })
		wantConflict(t, "UpdateOrder at a stale version", err)
		got, _ := readOrder(t, db, "ord_1")
		sameOrder(t, got, want, usher.OrderPartiallyRefunded, 2)

		err = tryTx(t, db, func(tx *store.Tx) error {
			return tx.UpdateOrder(ctx, usher.Order{OrderID: "ord_missing", Version: 1, Status: usher.OrderRefunded})
		})
		wantConflict(t, "UpdateOrder of a missing order", err)

		mustTx(t, db, func(tx *store.Tx) error { return tx.UpdateOrder(ctx, withStatus(v2, usher.OrderRefunded)) })
		got, _ = readOrder(t, db, "ord_1")
		sameOrder(t, got, want, usher.OrderRefunded, 3)
	}},
	{"Tickets", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		mustTx(t, db, insertOrder(t, "ord_1"))
		mustTx(t, db, insertOrder(t, "ord_2"))
		b, a := testTicket("tkt_b", "ord_1", "CODE-B"), testTicket("tkt_a", "ord_1", "CODE-A")
		other := testTicket("tkt_c", "ord_2", "CODE-C")
		mustTx(t, db, func(tx *store.Tx) error {
			for _, tk := range []usher.Ticket{b, a, other} {
				if err := tx.InsertTicket(ctx, tk); err != nil {
					return err
				}
			}
			return nil
		})
		mustTx(t, db, func(tx *store.Tx) error {
			ts, err := tx.TicketsOfOrder(ctx, "ord_1")
			if err != nil {
				return err
			}
			if len(ts) != 2 {
				t.Errorf("TicketsOfOrder(ord_1) = %+v, want 2 tickets", ts)
				return nil
			}
			sameTicket(t, ts[0], a, usher.TicketValid)
			sameTicket(t, ts[1], b, usher.TicketValid)
			return nil
		})

		got, err := db.Ticket(ctx, "tkt_a")
		if err != nil {
			t.Fatalf("Ticket(tkt_a): %v", err)
		}
		sameTicket(t, got, a, usher.TicketValid)

		mustTx(t, db, func(tx *store.Tx) error {
			return tx.SwapTicketStatus(ctx, "tkt_a", usher.TicketValid, usher.TicketAdmitted)
		})
		err = tryTx(t, db, func(tx *store.Tx) error {
			return tx.SwapTicketStatus(ctx, "tkt_a", usher.TicketValid, usher.TicketRevoked)
		})
		wantConflict(t, "SwapTicketStatus from the wrong status", err)
		err = tryTx(t, db, func(tx *store.Tx) error {
			return tx.SwapTicketStatus(ctx, "tkt_missing", usher.TicketValid, usher.TicketRevoked)
		})
		wantConflict(t, "SwapTicketStatus of a missing ticket", err)

		o, err := db.OrderWithTickets(ctx, "ord_1")
		if err != nil {
			t.Fatalf("OrderWithTickets: %v", err)
		}
		sameOrder(t, o, testOrder("ord_1"), usher.OrderPaid, 1)
		if len(o.Tickets) != 2 {
			t.Fatalf("OrderWithTickets(ord_1).Tickets = %+v, want 2", o.Tickets)
		}
		sameTicket(t, o.Tickets[0], a, usher.TicketAdmitted)
		sameTicket(t, o.Tickets[1], b, usher.TicketValid)
	}},
	{"DuplicateTicketCodeRejected", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		mustTx(t, db, insertOrder(t, "ord_1"))
		mustTx(t, db, func(tx *store.Tx) error { return tx.InsertTicket(ctx, testTicket("tkt_1", "ord_1", "CODE-1")) })
		err := tryTx(t, db, func(tx *store.Tx) error { return insertTicketNow(tx, testTicket("tkt_2", "ord_1", "CODE-1")) })
		if err == nil {
			t.Fatal("InsertTicket with a code already issued succeeded")
		}
		err = tryTx(t, db, func(tx *store.Tx) error { return insertTicketNow(tx, testTicket("tkt_1", "ord_1", "CODE-2")) })
		if err == nil {
			t.Fatal("InsertTicket with an id already used succeeded")
		}
		if _, err := db.Ticket(ctx, "tkt_2"); usher.ErrorCode(err) != usher.CodeNotFound {
			t.Fatalf("Ticket(tkt_2) after the refused insert = %v, want not found", err)
		}
	}},
	{"TicketOfUnknownOrderRejected", func(t *testing.T, db *store.DB) {
		err := tryTx(t, db, func(tx *store.Tx) error {
			return insertTicketNow(tx, testTicket("tkt_1", "ord_missing", "CODE-1"))
		})
		if err == nil {
			t.Fatal("InsertTicket for an order that does not exist succeeded (foreign key not enforced)")
		}
		if errors.Is(err, usher.ErrConflict) {
			t.Fatalf("InsertTicket for a missing order = %v: a foreign-key failure must not be a retryable conflict", err)
		}
	}},
}

// insertTicketNow inserts a ticket and writes it at once: a new ticket's
// row is written with the transaction's other new rows, and a refused row
// fails the Flush (or the commit) rather than InsertTicket.
func insertTicketNow(tx *store.Tx, tk usher.Ticket) error {
	if err := tx.InsertTicket(context.Background(), tk); err != nil {
		return err
	}
	return tx.Flush(context.Background())
}

// withStatus returns o with another status.
func withStatus(o usher.Order, s usher.OrderStatus) usher.Order {
	o.Status = s
	return o
}
