package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/ushertest"
)

// TestReplayOfASetAsideEventAppliesIt: a dispute naming a payment that is not
// known yet is set aside; once the payment is in, replaying the dead letter
// applies the dispute (the event keeps its id), and a second replay changes
// nothing more.
func TestReplayOfASetAsideEventAppliesIt(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.chargeback", map[string]any{"payment_intent": "pi_late"}))
	var dlID string
	ushertest.Eventually(t, waitLong, "the dispute set aside", func() bool {
		var list struct {
			DeadLetters []struct {
				ID     string `json:"id"`
				Reason string `json:"reason"`
			} `json:"dead_letters"`
		}
		if s.Admin(http.MethodGet, "/v1/dlq?stage=processing", "", nil, &list) != 200 || len(list.DeadLetters) != 1 {
			return false
		}
		dlID = list.DeadLetters[0].ID
		return list.DeadLetters[0].Reason == "unknown_order"
	})
	paid := ushertest.Paid("ord_late", 2)
	paid["payment_intent"] = "pi_late"
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", paid))
	if o := waitOrder(t, s, "ord_late"); o.Status != usher.OrderPaid {
		t.Fatalf("order %s before the replay", o.Status)
	}
	for range 2 {
		if status := s.Admin(http.MethodPost, "/v1/dlq/"+dlID+"/replay", "", map[string]any{}, nil); status >= 300 {
			t.Fatalf("replay: %d", status)
		}
	}
	ushertest.Eventually(t, waitLong, "the replayed dispute applied", func() bool {
		o, err := s.Store().OrderWithTickets(context.Background(), "ord_late")
		return err == nil && o.Status == usher.OrderChargedBack
	})
	o, _ := s.Store().OrderWithTickets(context.Background(), "ord_late")
	if o.Chargebacks != 1 {
		t.Errorf("chargebacks %d after two replays, want 1", o.Chargebacks)
	}
}
