package processor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/invariant"
	"github.com/usherhq/usher/internal/processor"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/sqlite"
	"github.com/usherhq/usher/internal/telemetry"
)

type rig struct {
	db   *store.DB
	proc *processor.Processor
}

func newRig(t *testing.T, capacity int) *rig {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "u.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutCapacity(context.Background(), "show", "GA", capacity); err != nil {
		t.Fatal(err)
	}
	p := processor.New(db, processor.RandomCodes{}, telemetry.NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	t.Cleanup(func() { p.Close(); db.Close() })
	return &rig{db: db, proc: p}
}

func event(id, typ string, at time.Time, data map[string]any) usher.InboundEvent {
	raw, _ := json.Marshal(data)
	oid, _ := data["order_id"].(string)
	return usher.InboundEvent{Source: "shop", ID: id, Type: typ, OrderID: oid, Timestamp: at, ReceivedAt: at, PayloadHash: "h-" + id, Data: raw}
}

// apply hands the events over as one queued batch: applied one after the
// other, as separate batches would be, in one transaction.
func (r *rig) apply(t *testing.T, evs ...usher.InboundEvent) {
	t.Helper()
	if err := r.proc.HandleBatch(context.Background(), queue.Batch{Events: evs, Delivered: 1}); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// outcome is what must not depend on arrival order.
type outcome struct {
	Status  usher.OrderStatus
	Tickets string // sorted status/revoked_by counts
	Sold    int
	Held    int
}

func (r *rig) outcome(t *testing.T, orderID string) outcome {
	t.Helper()
	o, err := r.db.OrderWithTickets(context.Background(), orderID)
	if err != nil {
		t.Fatalf("order: %v", err)
	}
	counts := map[string]int{}
	for _, tk := range o.Tickets {
		counts[string(tk.Status)+"/"+tk.RevokedBy]++
	}
	keys := make([]string, 0, len(counts))
	for k, n := range counts {
		keys = append(keys, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(keys)
	if v, err := invariant.Check(context.Background(), r.db); err != nil || len(v) > 0 {
		t.Fatalf("invariants: %v %v", v, err)
	}
	inv, _ := r.db.ShowInventory(context.Background(), "show")
	return outcome{Status: o.Status, Tickets: fmt.Sprint(keys), Sold: inv[0].Sold, Held: inv[0].Held}
}

// TestEventOrderDoesNotMatter applies each scenario in order, then in many
// random permutations with random duplicates, and requires the same final
// order status, tickets and inventory every time.
func TestEventOrderDoesNotMatter(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	order := map[string]any{"order_id": "ord", "show_id": "show", "venue_id": "v",
		"items": []map[string]any{{"ticket_type": "GA", "quantity": 2}}, "buyer": map[string]string{"email": "a@b.c", "name": "A"}}
	only := map[string]any{"order_id": "ord"}
	ev := func(typ string) func(i int) usher.InboundEvent {
		return func(i int) usher.InboundEvent {
			data := only
			if typ == usher.TypeOrderCreated || typ == usher.TypeOrderPaid {
				data = order
			}
			return event(fmt.Sprintf("e%d-%s", i, typ), typ, base.Add(time.Duration(i)*time.Minute), data)
		}
	}
	created, paid, failed := ev(usher.TypeOrderCreated), ev(usher.TypeOrderPaid), ev(usher.TypeOrderPaymentFailed)
	canceled, expired := ev(usher.TypeOrderCanceled), ev(usher.TypeOrderExpired)
	refunded, chargeback, reversed := ev(usher.TypeOrderRefunded), ev(usher.TypeOrderChargeback), ev(usher.TypeOrderChargebackReversed)

	scenarios := []struct {
		name     string
		capacity int
		events   []func(int) usher.InboundEvent
		want     usher.OrderStatus
	}{
		{"dispute, reversal, refund", 10, []func(int) usher.InboundEvent{created, paid, chargeback, reversed, refunded}, usher.OrderRefunded},
		{"paid after expiry", 10, []func(int) usher.InboundEvent{created, expired, paid}, usher.OrderPaid},
		{"failure after success", 10, []func(int) usher.InboundEvent{paid, failed}, usher.OrderPaid},
		{"canceled hold", 10, []func(int) usher.InboundEvent{created, canceled}, usher.OrderCanceled},
		{"retry after a failure", 10, []func(int) usher.InboundEvent{created, failed, paid}, usher.OrderPaid},
		{"refund then dispute", 10, []func(int) usher.InboundEvent{paid, refunded, chargeback}, usher.OrderChargedBack},
		{"dispute stays open", 10, []func(int) usher.InboundEvent{created, paid, chargeback}, usher.OrderChargedBack},
		{"dispute reversed", 10, []func(int) usher.InboundEvent{paid, chargeback, reversed}, usher.OrderPaid},
		{"no seat, refunded", 1, []func(int) usher.InboundEvent{paid, refunded}, usher.OrderRefunded},
		{"no seat", 1, []func(int) usher.InboundEvent{created, paid}, usher.OrderOversold},
		{"cancel and expiry after payment", 10, []func(int) usher.InboundEvent{created, paid, canceled, expired}, usher.OrderPaid},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			inOrder := make([]usher.InboundEvent, len(sc.events))
			for i, mk := range sc.events {
				inOrder[i] = mk(i)
			}
			r := newRig(t, sc.capacity)
			r.apply(t, inOrder...)
			want := r.outcome(t, "ord")
			if want.Status != sc.want {
				t.Fatalf("in order: status %s, want %s (%+v)", want.Status, sc.want, want)
			}
			rng := rand.New(rand.NewPCG(uint64(len(sc.name)), 7))
			for round := range 12 {
				perm := append([]usher.InboundEvent(nil), inOrder...)
				rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
				for range rng.IntN(3) { // duplicates, as providers retry
					perm = append(perm, perm[rng.IntN(len(perm))])
				}
				r := newRig(t, sc.capacity)
				r.apply(t, perm...)
				if got := r.outcome(t, "ord"); got != want {
					types := make([]string, len(perm))
					for i, e := range perm {
						types[i] = e.Type
					}
					t.Errorf("round %d %v: got %+v, want %+v", round, types, got, want)
				}
			}
		})
	}
}

func TestHoldsCountAgainstCapacityAndExpire(t *testing.T) {
	t.Parallel()
	r := newRig(t, 3)
	base := time.Now()
	mk := func(id, typ string, qty int) usher.InboundEvent {
		return event(id, typ, base, map[string]any{"order_id": id, "show_id": "show", "venue_id": "v",
			"items": []map[string]any{{"ticket_type": "GA", "quantity": qty}}, "hold_expires_at": base.Add(time.Minute)})
	}
	r.apply(t, mk("a", usher.TypeOrderCreated, 2), mk("b", usher.TypeOrderPaid, 2))
	if got := r.outcome(t, "b"); got.Status != usher.OrderOversold || got.Held != 2 {
		t.Fatalf("a paid order beyond the held seats: %+v, want oversold while 2 are held", got)
	}
	r.apply(t, mk("a", usher.TypeOrderPaid, 2)) // the same id: a duplicate, no effect
	r.apply(t, event("a-paid", usher.TypeOrderPaid, base, map[string]any{"order_id": "a", "show_id": "show", "venue_id": "v",
		"items": []map[string]any{{"ticket_type": "GA", "quantity": 2}}}))
	if got := r.outcome(t, "a"); got.Status != usher.OrderPaid || got.Sold != 2 || got.Held != 0 {
		t.Fatalf("hold turned into a sale: %+v", got)
	}
	r.apply(t, mk("c", usher.TypeOrderCreated, 1))
	n, err := r.proc.ExpireHolds(context.Background(), base.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("ExpireHolds = %d, %v; want 1", n, err)
	}
	if got := r.outcome(t, "c"); got.Status != usher.OrderExpired || got.Held != 0 {
		t.Fatalf("expired hold: %+v", got)
	}
}

func TestTransferReissuesTheCodeAndLaterTransferWins(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5)
	base := time.Now()
	r.apply(t, event("p", usher.TypeOrderPaid, base, map[string]any{"order_id": "o", "show_id": "show", "venue_id": "v",
		"items": []map[string]any{{"ticket_type": "GA", "quantity": 1}}}))
	o, _ := r.db.OrderWithTickets(context.Background(), "o")
	first := o.Tickets[0]
	transfer := func(id string, at time.Time) {
		r.apply(t, event(id, usher.TypeTicketTransferred, at, map[string]any{"order_id": "o", "ticket_id": first.TicketID, "to": map[string]string{"email": id + "@x.io"}}))
	}
	transfer("t2", base.Add(2*time.Minute))
	transfer("t1", base.Add(1*time.Minute)) // older than the applied one: recorded, ignored
	o, _ = r.db.OrderWithTickets(context.Background(), "o")
	got := o.Tickets[0]
	if got.Generation != 2 || got.Code == first.Code || got.Status != usher.TicketValid {
		t.Fatalf("after transfers: %+v (first code %s), want generation 2 with a new code", got, first.Code)
	}
	recs, _ := r.db.InboundRecords(context.Background(), "o")
	reasons := map[string]string{}
	for _, rec := range recs {
		reasons[rec.EventID] = rec.Reason
	}
	if reasons["t1"] != "stale" {
		t.Errorf("older transfer recorded with reason %q, want stale", reasons["t1"])
	}
}

func TestInventoryAdjustedNeverBelowSold(t *testing.T) {
	t.Parallel()
	r := newRig(t, 5)
	base := time.Now()
	r.apply(t, event("p", usher.TypeOrderPaid, base, map[string]any{"order_id": "o", "show_id": "show", "venue_id": "v",
		"items": []map[string]any{{"ticket_type": "GA", "quantity": 3}}}))
	adjust := func(id string, capacity int, at time.Time) {
		r.apply(t, event(id, usher.TypeInventoryAdjusted, at, map[string]any{"show_id": "show", "ticket_type": "GA", "capacity": capacity}))
	}
	adjust("a1", 2, base.Add(time.Minute))   // below sold: set aside
	adjust("a2", 8, base.Add(2*time.Minute)) // applied
	adjust("a3", 6, base.Add(time.Minute))   // older than a2: ignored
	inv, _ := r.db.ShowInventory(context.Background(), "show")
	if inv[0].Capacity != 8 {
		t.Errorf("capacity %d, want 8", inv[0].Capacity)
	}
	dls, _ := r.db.DeadLetters(context.Background(), 10)
	if len(dls) != 1 || dls[0].Reason != "capacity_below_sold" {
		t.Errorf("dead letters %+v, want one capacity_below_sold", dls)
	}
}
