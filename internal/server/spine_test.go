package server_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/invariant"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

const waitLong = 20 * time.Second

// waitOrder waits until the order exists and returns it with its tickets.
func waitOrder(t *testing.T, s *ushertest.Server, orderID string) usher.Order {
	t.Helper()
	var o usher.Order
	ushertest.Eventually(t, waitLong, "order "+orderID, func() bool {
		var err error
		o, err = s.Store().OrderWithTickets(context.Background(), orderID)
		return err == nil
	})
	return o
}

// waitProcessed waits until n inbound events have dedupe records.
func waitProcessed(t *testing.T, s *ushertest.Server, n int) map[string]int {
	t.Helper()
	var counts map[string]int
	ushertest.Eventually(t, waitLong, fmt.Sprintf("%d processed events", n), func() bool {
		var err error
		counts, err = s.Store().CountInbound(context.Background())
		total := 0
		for _, c := range counts {
			total += c
		}
		return err == nil && total >= n
	})
	return counts
}

func inventory(t *testing.T, s *ushertest.Server, show string) usher.Inventory {
	t.Helper()
	inv, err := s.Store().ShowInventory(context.Background(), show)
	if err != nil || len(inv) != 1 {
		t.Fatalf("inventory of %s: %v, %v", show, inv, err)
	}
	return inv[0]
}

func mustAccept(t *testing.T, s *ushertest.Server, id string, body []byte) {
	t.Helper()
	if status, reply := s.Send(id, body); status != http.StatusAccepted {
		t.Fatalf("send %s: got %d %s, want 202", id, status, reply)
	}
}

func TestPaidOrderMintsTickets(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_1", 3)))

	o := waitOrder(t, s, "ord_1")
	if o.Status != usher.OrderPaid || len(o.Tickets) != 3 {
		t.Fatalf("got status %s with %d tickets, want paid with 3", o.Status, len(o.Tickets))
	}
	codes := map[string]bool{}
	for _, tk := range o.Tickets {
		if tk.Status != usher.TicketValid || len(tk.Code) < 26 || codes[tk.Code] {
			t.Errorf("ticket %+v: want valid with a unique code of at least 26 characters", tk)
		}
		codes[tk.Code] = true
	}
	if inv := inventory(t, s, server.DemoShow); inv.Sold != 3 || inv.Available != server.DemoCapacity-3 {
		t.Errorf("inventory %+v: want sold 3", inv)
	}
	var viaAPI usher.Order
	if status := s.Admin(http.MethodGet, "/v1/orders/ord_1", "", nil, &viaAPI); status != 200 || len(viaAPI.Tickets) != 3 {
		t.Errorf("GET /v1/orders/ord_1: %d %+v", status, viaAPI)
	}
	var tk usher.Ticket
	if status := s.Admin(http.MethodGet, "/v1/tickets/"+o.Tickets[0].TicketID, "", nil, &tk); status != 200 || tk.OrderID != "ord_1" {
		t.Errorf("GET ticket: %d %+v", status, tk)
	}
	changes, err := s.Store().TicketChanges(context.Background(), server.DemoVenue, 0, 100)
	if err != nil || len(changes) != 3 {
		t.Errorf("venue feed: %d changes (%v), want 3", len(changes), err)
	}
}

func TestSameWebhookTwentyTimesMintsOneSet(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	parallelID, sequentialID := ushertest.NewID(), ushertest.NewID()
	parallelBody := ushertest.Envelope("order.paid", ushertest.Paid("ord_par", 2))
	sequentialBody := ushertest.Envelope("order.paid", ushertest.Paid("ord_seq", 2))

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { mustAccept(t, s, parallelID, parallelBody) })
	}
	wg.Wait()
	for range 20 {
		mustAccept(t, s, sequentialID, sequentialBody)
	}
	ushertest.Eventually(t, waitLong, "40 deliveries processed", func() bool {
		counts, _ := s.Store().CountInbound(context.Background())
		return counts["applied"] == 2
	})
	// Let every duplicate drain, then check nothing was applied twice.
	ushertest.Eventually(t, waitLong, "queue drained", func() bool {
		info, err := s.Queue().Pending(context.Background())
		return err == nil && info == 0
	})
	for _, id := range []string{"ord_par", "ord_seq"} {
		if o := waitOrder(t, s, id); len(o.Tickets) != 2 {
			t.Errorf("order %s has %d tickets, want 2", id, len(o.Tickets))
		}
	}
	if inv := inventory(t, s, server.DemoShow); inv.Sold != 4 {
		t.Errorf("sold %d, want 4", inv.Sold)
	}
}

func TestRacingOrdersNeverOversell(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	for round := range 5 {
		show := fmt.Sprintf("race-%d", round)
		if status := s.Admin(http.MethodPut, "/v1/shows/"+show+"/inventory/GA", "", map[string]int{"capacity": 7}, nil); status != 200 {
			t.Fatalf("put capacity: %d", status)
		}
		var wg sync.WaitGroup
		orders := make([]string, 12)
		for i := range orders {
			orders[i] = fmt.Sprintf("ord_%s_%d", show, i)
			data := map[string]any{"order_id": orders[i], "show_id": show, "venue_id": "v1",
				"items": []map[string]any{{"ticket_type": "GA", "quantity": 1 + i%3}}}
			wg.Go(func() { mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", data)) })
		}
		wg.Wait()
		minted := 0
		for _, id := range orders {
			o := waitOrder(t, s, id)
			switch o.Status {
			case usher.OrderPaid:
				minted += len(o.Tickets)
			case usher.OrderOversold:
				if len(o.Tickets) != 0 {
					t.Errorf("oversold order %s has %d tickets", id, len(o.Tickets))
				}
			default:
				t.Errorf("order %s is %s", id, o.Status)
			}
		}
		if v, err := invariant.Check(context.Background(), s.Store()); err != nil || len(v) > 0 {
			t.Fatalf("round %d: invariants: %v %v", round, v, err)
		}
		inv := inventory(t, s, show)
		if inv.Sold > inv.Capacity || inv.Sold != minted || inv.Available < 0 {
			t.Fatalf("round %d: sold %d, minted %d, capacity %d: oversold or inconsistent", round, inv.Sold, minted, inv.Capacity)
		}
	}
}

func TestRefundAndChargebackRevoke(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	for _, id := range []string{"ord_full", "ord_part", "ord_cb"} {
		mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid(id, 2)))
	}
	part := waitOrder(t, s, "ord_part")
	waitOrder(t, s, "ord_full")
	waitOrder(t, s, "ord_cb")

	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.refunded", map[string]any{"order_id": "ord_full"}))
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.refunded", map[string]any{"order_id": "ord_part", "ticket_ids": []string{part.Tickets[0].TicketID}}))
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.chargeback", map[string]any{"order_id": "ord_cb"}))
	waitProcessed(t, s, 6)

	want := map[string]struct {
		status  usher.OrderStatus
		revoked int
	}{
		"ord_full": {usher.OrderRefunded, 2},
		"ord_part": {usher.OrderPartiallyRefunded, 1},
		"ord_cb":   {usher.OrderChargedBack, 2},
	}
	for id, w := range want {
		o := waitOrder(t, s, id)
		revoked := 0
		for _, tk := range o.Tickets {
			if tk.Status == usher.TicketRevoked {
				revoked++
			}
		}
		if o.Status != w.status || revoked != w.revoked {
			t.Errorf("%s: got %s with %d revoked, want %s with %d", id, o.Status, revoked, w.status, w.revoked)
		}
	}
	if inv := inventory(t, s, server.DemoShow); inv.Sold != 1 {
		t.Errorf("sold %d after revocations, want 1", inv.Sold)
	}
}

func TestIDReuseWithOtherPayloadIsSetAside(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	id := ushertest.NewID()
	mustAccept(t, s, id, ushertest.Envelope("order.paid", ushertest.Paid("ord_a", 1)))
	// The two orders may sit on different partitions, applied in either
	// order: the reuse is sent once the first use is applied.
	waitOrder(t, s, "ord_a")
	mustAccept(t, s, id, ushertest.Envelope("order.paid", ushertest.Paid("ord_b", 5)))
	ushertest.Eventually(t, waitLong, "dead letter for id reuse", func() bool {
		dls, _ := s.Store().DeadLetters(context.Background(), 10)
		return len(dls) == 1 && dls[0].Reason == "id_reuse" && dls[0].EventID == id
	})
	if _, err := s.Store().OrderWithTickets(context.Background(), "ord_b"); usher.ErrorCode(err) != usher.CodeNotFound {
		t.Errorf("order ord_b: got %v, want not found", err)
	}
}

func TestUnknownTypeIsStoredWithoutEffect(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("venue.weather_changed", map[string]any{"order_id": "ord_x", "sky": "grey"}))
	counts := waitProcessed(t, s, 1)
	if counts["ignored"] != 1 {
		t.Errorf("outcomes %v, want one ignored", counts)
	}
	recs, err := s.Store().InboundRecords(context.Background(), "ord_x")
	if err != nil || len(recs) != 1 || recs[0].Reason != "unhandled_type" {
		t.Errorf("records %+v (%v): want one with reason unhandled_type", recs, err)
	}
}

func TestAcceptedEventsSurviveRestartBeforeProcessing(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t, ushertest.WithRoles(server.RoleIngest))
	const n = 40
	for i := range n {
		mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid(fmt.Sprintf("ord_r%d", i), 1)))
	}
	if counts, _ := s.Store().CountInbound(context.Background()); len(counts) != 0 {
		t.Fatalf("an ingest-only process applied events: %v", counts)
	}
	s.Restart(ushertest.WithRoles(server.RoleIngest, server.RoleProcess))
	counts := waitProcessed(t, s, n)
	if counts["applied"] != n {
		t.Errorf("outcomes %v, want %d applied", counts, n)
	}
	if inv := inventory(t, s, server.DemoShow); inv.Sold != n {
		t.Errorf("sold %d, want %d", inv.Sold, n)
	}
}
