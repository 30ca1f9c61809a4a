package crashtest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

// guard bounds every wait of the in-process tests: a failure guard against a
// hang, never a performance assertion.
const guard = 60 * time.Second

// TestDuplicateStorm replays one batch of distinct webhooks 20 times, all at
// once, and expects exactly the effects of a single delivery.
func TestDuplicateStorm(t *testing.T) {
	t.Parallel()
	const (
		distinct = 25
		replays  = 20
		workers  = 64
	)
	s := ushertest.Start(t)
	type delivery struct {
		id   string
		body []byte
	}
	batch := make([]delivery, distinct)
	for i := range batch {
		data := ushertest.Paid(fmt.Sprintf("ord_storm_%02d", i), 1+i%3)
		batch[i] = delivery{ushertest.NewID(), ushertest.Envelope(usher.TypeOrderPaid, data)}
	}
	todo := make(chan delivery)
	var wg sync.WaitGroup
	var firstErr onceErr
	for range workers {
		wg.Go(func() {
			for d := range todo {
				if status, body := s.Send(d.id, d.body); status != http.StatusAccepted {
					firstErr.set(fmt.Errorf("send %s: got %d %s, want 202", d.id, status, body))
				}
			}
		})
	}
	for range replays {
		for _, d := range batch {
			todo <- d
		}
	}
	close(todo)
	wg.Wait()
	if err := firstErr.get(); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	ushertest.Eventually(t, guard, "every replay processed and the queue drained", func() bool {
		pending, err := s.Queue().Pending(ctx)
		counts, cerr := s.Store().CountInbound(ctx)
		return err == nil && cerr == nil && pending == 0 && counts["applied"] == distinct
	})
	counts, err := s.Store().CountInbound(ctx)
	if err != nil || len(counts) != 1 || counts["applied"] != distinct {
		t.Errorf("dedupe records by outcome: got %v (%v), want only %d applied", counts, err, distinct)
	}
	wantSold := 0
	for i := range distinct {
		id, want := fmt.Sprintf("ord_storm_%02d", i), 1+i%3
		wantSold += want
		o, err := s.Store().OrderWithTickets(ctx, id)
		if err != nil || o.Status != usher.OrderPaid || len(o.Tickets) != want {
			t.Errorf("order %s: got %s with %d tickets (%v), want paid with %d", id, o.Status, len(o.Tickets), err, want)
		}
	}
	inv, err := s.Store().ShowInventory(ctx, server.DemoShow)
	if err != nil || len(inv) != 1 || inv[0].Sold != wantSold {
		t.Errorf("inventory: got %+v (%v), want sold %d", inv, err, wantSold)
	}
	changes, err := s.Store().TicketChanges(ctx, server.DemoVenue, 0, 1000)
	if err != nil || len(changes) != wantSold {
		t.Errorf("venue feed: got %d entries (%v), want one per ticket: %d", len(changes), err, wantSold)
	}
	outbox, err := s.Store().OutboxAfter(ctx, 0, 1000)
	if want := wantSold + distinct; err != nil || len(outbox) != want {
		t.Errorf("outbox: got %d events (%v), want %d (a ticket.issued per ticket, an order.confirmed per order)", len(outbox), err, want)
	}
}
