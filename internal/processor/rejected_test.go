package processor_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/processor"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/sqlite"
	"github.com/usherhq/usher/internal/telemetry"
)

// poisonTrigger makes SQLite refuse one order the way PostgreSQL refuses a
// NUL byte: a deterministic error (SQLITE_CONSTRAINT_TRIGGER) on every try.
const poisonTrigger = `CREATE TRIGGER poison BEFORE INSERT ON orders WHEN NEW.order_id = 'ord_poison'
	BEGIN SELECT RAISE(ABORT, 'poison order'); END`

// TestRejectedEventIsSetAsideAndTheRestApplied: in one batch, the event the
// store refuses becomes a store_rejected dead letter and the events before
// and after it are applied, with their buyers vaulted, in one HandleBatch
// that succeeds (before the fix it failed, and the queue redelivered it
// forever).
func TestRejectedEventIsSetAsideAndTheRestApplied(t *testing.T) {
	t.Parallel()
	rejectedIsSetAside(t, poisonTrigger)
}

// TestRejectedAtCommitIsSetAsideAndTheRestApplied: the store refuses a row
// that the transaction writes only at its commit (the outbox rows of a
// batch go in multi-row inserts there), so the refusal names no event; the
// processor runs the batch again writing each event's rows right after it,
// finds the event, and sets it aside as before.
func TestRejectedAtCommitIsSetAsideAndTheRestApplied(t *testing.T) {
	t.Parallel()
	rejectedIsSetAside(t, `CREATE TRIGGER poison BEFORE INSERT ON outbox WHEN NEW.order_id = 'ord_poison'
		BEGIN SELECT RAISE(ABORT, 'poison outbox row'); END`)
}

// poisoned returns a processor on a SQLite store with trigger installed and
// 10 GA seats of "show".
func poisoned(t *testing.T, trigger string) (*store.DB, *processor.Processor) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "u.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, trigger); err != nil {
		t.Fatal(err)
	}
	_ = raw.Close()
	if _, err := db.PutCapacity(ctx, "show", "GA", 10); err != nil {
		t.Fatal(err)
	}
	p := processor.New(db, processor.RandomCodes{}, telemetry.NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	t.Cleanup(func() { p.Close(); db.Close() })
	return db, p
}

func rejectedIsSetAside(t *testing.T, trigger string) {
	ctx := context.Background()
	db, p := poisoned(t, trigger)

	now := time.Now().UTC()
	paid := func(id, order string) usher.InboundEvent {
		return event(id, usher.TypeOrderPaid, now, map[string]any{"order_id": order, "show_id": "show", "venue_id": "venue",
			"items": []map[string]any{{"ticket_type": "GA", "quantity": 1}}, "buyer": map[string]string{"email": order + "@example.com"}})
	}
	batch := queue.Batch{Events: []usher.InboundEvent{paid("evt_1", "ord_before"), paid("evt_2", "ord_poison"), paid("evt_3", "ord_after")}, Delivered: 1}
	for range 2 { // the second time is a redelivery: all duplicates
		if err := p.HandleBatch(ctx, batch); err != nil {
			t.Fatalf("HandleBatch = %v, want nil", err)
		}
	}
	for _, id := range []string{"ord_before", "ord_after"} {
		o, err := db.OrderWithTickets(ctx, id)
		if err != nil || o.Status != usher.OrderPaid || len(o.Tickets) != 1 {
			t.Errorf("order %s = %+v, %v; want paid with 1 ticket", id, o, err)
		}
		if b, err := db.BuyerRecord(ctx, id); err != nil || b.Buyer.Email != id+"@example.com" {
			t.Errorf("buyer of %s = %+v, %v; want its email vaulted", id, b, err)
		}
	}
	if _, err := db.OrderWithTickets(ctx, "ord_poison"); usher.ErrorCode(err) != usher.CodeNotFound {
		t.Errorf("poison order: %v, want not found", err)
	}
	dls, _, err := db.SearchDeadLetters(ctx, usher.DeadLetterFilter{Stage: "processing", Reason: "store_rejected", Limit: 10})
	if err != nil || len(dls) != 1 || dls[0].EventID != "evt_2" || dls[0].OrderID != "ord_poison" || dls[0].LastError == "" {
		t.Fatalf("store_rejected dead letters = %+v, %v; want one for evt_2 with its error", dls, err)
	}
	counts, err := db.CountInbound(ctx)
	if err != nil || counts[usher.OutcomeApplied] != 2 || counts[usher.OutcomeSetAside] != 1 {
		t.Errorf("inbound outcomes = %v, %v; want 2 applied and 1 set aside", counts, err)
	}
}

// TestRefusedRowIsSetAsideNotTheLaterEventThatWroteIt: a new order's row is
// held back for the commit, and a later event of the batch (a refund of
// another order, which updates that order at once) makes the store write the
// held rows first, where the store refuses the new order. The refusal
// belongs to the earlier event: it is set aside and the refund applied.
func TestRefusedRowIsSetAsideNotTheLaterEventThatWroteIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := poisoned(t, poisonTrigger)
	now := time.Now().UTC()
	paid := func(id, order string) usher.InboundEvent {
		return event(id, usher.TypeOrderPaid, now, map[string]any{"order_id": order, "show_id": "show", "venue_id": "venue",
			"items": []map[string]any{{"ticket_type": "GA", "quantity": 1}}})
	}
	if err := p.HandleBatch(ctx, queue.Batch{Events: []usher.InboundEvent{paid("evt_1", "ord_refunded")}, Delivered: 1}); err != nil {
		t.Fatal(err)
	}
	created := func(id, order string) usher.InboundEvent {
		ev := paid(id, order)
		ev.Type = usher.TypeOrderCreated
		return ev
	}
	refund := event("evt_3", usher.TypeOrderRefunded, now.Add(time.Second), map[string]any{"order_id": "ord_refunded"})
	// The first event reads what a batch reads once (inventory, feed and
	// audit heads), so the poison order's only statement is its held row.
	batch := []usher.InboundEvent{created("evt_0", "ord_other"), created("evt_2", "ord_poison"), refund}
	if err := p.HandleBatch(ctx, queue.Batch{Events: batch, Delivered: 1}); err != nil {
		t.Fatalf("HandleBatch = %v, want nil", err)
	}
	o, err := db.OrderWithTickets(ctx, "ord_refunded")
	if err != nil || o.Status != usher.OrderRefunded || len(o.Tickets) != 1 || o.Tickets[0].Status != usher.TicketRevoked {
		t.Fatalf("refunded order = %+v, %v; want refunded with its ticket revoked", o, err)
	}
	dls, _, err := db.SearchDeadLetters(ctx, usher.DeadLetterFilter{Stage: "processing", Reason: "store_rejected", Limit: 10})
	if err != nil || len(dls) != 1 || dls[0].EventID != "evt_2" {
		t.Fatalf("store_rejected dead letters = %+v, %v; want one, for evt_2", dls, err)
	}
}
