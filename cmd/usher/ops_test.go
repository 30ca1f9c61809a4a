package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ushertest"
)

// The delivery lanes of the ushers these tests start may deliver to
// receivers on 127.0.0.1 and look at the outbox often.
func init() {
	os.Setenv("USHER_ALLOW_PRIVATE_DESTINATIONS", "true")
	os.Setenv("USHER_DELIVERY_POLL_INTERVAL", "50ms")
}

// opsSetup starts usher with a subscription whose endpoint rejects until
// accept is set, and waits for the dead letters of n events.
func opsSetup(t *testing.T, n int) (*ushertest.Server, *atomic.Bool, *atomic.Int64, string, []string) {
	t.Helper()
	s := ushertest.Start(t)
	var accept atomic.Bool
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !accept.Load() {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got.Add(1)
	}))
	t.Cleanup(rc.Close)
	var sub struct {
		ID string `json:"id"`
	}
	if st := s.Admin(http.MethodPost, "/v1/subscriptions", "", map[string]any{"url": rc.URL, "event_types": []string{"ticket.issued"}}, &sub); st != http.StatusCreated {
		t.Fatalf("subscribe: %d", st)
	}
	var ids []string
	err := s.Store().InTx(context.Background(), func(tx *store.Tx) error {
		for i := range n {
			id := "evt_" + ushertest.NewID()
			ids = append(ids, id)
			o := "ord_cli_" + string(rune('a'+i))
			if err := tx.AppendOutbox(context.Background(), usher.OutboundEvent{ID: id, Type: "ticket.issued", OrderID: o, VenueID: "v", Data: []byte(`{}`)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ushertest.Eventually(t, time.Minute, "dead letters", func() bool {
		dls, _, err := s.Store().SearchDeadLetters(context.Background(), usher.DeadLetterFilter{SubscriptionID: sub.ID, Limit: 100})
		return err == nil && len(dls) == n
	})
	return s, &accept, &got, sub.ID, ids
}

func cli(s *ushertest.Server, args ...string) []string {
	return append(args, "--url", s.URL(), "--admin-token", ushertest.AdminToken)
}

// TestDLQAndReplayCommands: usher dlq list finds the dead letters by
// filter, show gives one with its attempts, replay ID and replay by filter
// deliver them, and usher replay re-delivers a subscription's events.
func TestDLQAndReplayCommands(t *testing.T) {
	t.Parallel()
	s, accept, got, sub, ids := opsSetup(t, 3)
	out, err := runCLI(t, cli(s, "dlq", "list", "--subscription", sub, "--order", "ord_cli_a", "-o", "json")...)
	var page struct {
		DeadLetters []usher.DeadLetterRecord `json:"dead_letters"`
	}
	if err != nil || json.Unmarshal([]byte(out), &page) != nil || len(page.DeadLetters) != 1 {
		t.Fatalf("dlq list --order: %v\n%s", err, out)
	}
	one := page.DeadLetters[0].ID
	if out, err := runCLI(t, cli(s, "dlq", "show", one)...); err != nil || !strings.Contains(out, `"status_code":400`) {
		t.Fatalf("dlq show: %v\n%s", err, out)
	}
	accept.Store(true)
	if out, err := runCLI(t, cli(s, "dlq", "replay", one)...); err != nil || !strings.Contains(out, `"replays":1`) {
		t.Fatalf("dlq replay ID: %v\n%s", err, out)
	}
	if out, err := runCLI(t, cli(s, "dlq", "replay", "--subscription", sub)...); err != nil || !strings.Contains(out, `"replayed":2`) {
		t.Fatalf("dlq replay --subscription: %v\n%s", err, out)
	}
	ushertest.Eventually(t, time.Minute, "3 deliveries after the replays", func() bool { return got.Load() == 3 })
	// The receiver answering is not the lane settling: a delivery still
	// leased is in flight, and a subscription replay leaves it alone.
	ushertest.Eventually(t, time.Minute, "the 3 deliveries settled", func() bool {
		for _, id := range ids {
			if d, err := s.Store().Delivery(context.Background(), sub, id); err != nil || d.Status != usher.DeliveryDelivered {
				return false
			}
		}
		return true
	})
	if _, err := runCLI(t, cli(s, "dlq", "replay")...); err == nil {
		t.Errorf("dlq replay without a filter nor --all succeeded")
	}
	if out, err := runCLI(t, cli(s, "replay", "--subscription", sub, "--since", "1h")...); err != nil || !strings.Contains(out, `"replayed":3`) {
		t.Fatalf("replay --since 1h: %v\n%s", err, out)
	}
	ushertest.Eventually(t, time.Minute, "3 more deliveries", func() bool { return got.Load() == 6 })
}

// TestIncidentCommand: open, tag by filter, replay, close, show.
func TestIncidentCommand(t *testing.T) {
	t.Parallel()
	s, accept, got, sub, ids := opsSetup(t, 2)
	out, err := runCLI(t, cli(s, "incident", "open", "--title", "endpoint rejects")...)
	var in struct{ ID, Status string }
	if err != nil || json.Unmarshal([]byte(out), &in) != nil || in.Status != "open" {
		t.Fatalf("incident open: %v\n%s", err, out)
	}
	if out, err := runCLI(t, cli(s, "incident", "tag", in.ID, "--kind", "dead_letter", "--subscription", sub, "--error", "http 400")...); err != nil || !strings.Contains(out, `"added":2`) {
		t.Fatalf("incident tag: %v\n%s", err, out)
	}
	if out, err := runCLI(t, cli(s, "incident", "tag", in.ID, "--kind", "delivery", "--id", sub+"/"+ids[0])...); err != nil || !strings.Contains(out, `"added":1`) {
		t.Fatalf("incident tag --id: %v\n%s", err, out)
	}
	accept.Store(true)
	if out, err := runCLI(t, cli(s, "incident", "replay", in.ID)...); err != nil || !strings.Contains(out, `"replayed":2`) {
		t.Fatalf("incident replay: %v\n%s", err, out)
	}
	ushertest.Eventually(t, time.Minute, "2 deliveries", func() bool { return got.Load() == 2 })
	if out, err := runCLI(t, cli(s, "incident", "close", in.ID, "--summary", "fixed")...); err != nil || !strings.Contains(out, `"status":"closed"`) {
		t.Fatalf("incident close: %v\n%s", err, out)
	}
	out, err = runCLI(t, cli(s, "incident", "show", in.ID)...)
	if err != nil || !strings.Contains(out, "incident.replayed") || !strings.Contains(out, "incident.closed") {
		t.Fatalf("incident show: %v\n%s", err, out)
	}
	if out, err := runCLI(t, cli(s, "incident", "list", "--status", "closed")...); err != nil || !strings.Contains(out, in.ID) {
		t.Fatalf("incident list: %v\n%s", err, out)
	}
}
