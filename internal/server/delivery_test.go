package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events/eventstest"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ushertest"
)

const dlvWait = time.Minute

// dlvReceiver is a real HTTP endpoint on 127.0.0.1 that keeps every
// request and answers with respond (200 when it returns 0).
type dlvReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []dlvRequest
	respond func(n int, r *http.Request) int
}

type dlvRequest struct {
	header http.Header
	body   []byte
}

func (r dlvRequest) id() string { return r.header.Get("webhook-id") }

func newDLVReceiver(t *testing.T, respond func(n int, r *http.Request) int) *dlvReceiver {
	rc := &dlvReceiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := eventstest.Check(body); err != nil {
			t.Errorf("off-contract delivery: %v", err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, dlvRequest{header: r.Header.Clone(), body: body})
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.respond != nil {
			if code := rc.respond(n, r); code != 0 {
				w.WriteHeader(code)
			}
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *dlvReceiver) requests() []dlvRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]dlvRequest(nil), rc.got...)
}

// byID counts the requests per webhook-id.
func (rc *dlvReceiver) byID() map[string]int {
	out := map[string]int{}
	for _, r := range rc.requests() {
		out[r.id()]++
	}
	return out
}

type dlvSubscription struct {
	ID      string `json:"id"`
	Secret  string `json:"secret"`
	Status  string `json:"status"`
	Breaker string `json:"breaker"`
	Pending int    `json:"pending"`
}

func subscribe(t *testing.T, s *ushertest.Server, body map[string]any) dlvSubscription {
	t.Helper()
	var sub dlvSubscription
	if status := s.Admin(http.MethodPost, "/v1/subscriptions", "", body, &sub); status != http.StatusCreated {
		t.Fatalf("POST /v1/subscriptions %v: %d", body, status)
	}
	return sub
}

// outboxIDs waits for the outbox to hold n events and returns their ids.
func outboxIDs(t *testing.T, s *ushertest.Server, n int) []string {
	t.Helper()
	var ids []string
	ushertest.Eventually(t, dlvWait, fmt.Sprintf("%d outbound events", n), func() bool {
		evs, err := s.Store().OutboxAfter(context.Background(), 0, 1000)
		ids = ids[:0]
		for _, ev := range evs {
			ids = append(ids, ev.ID)
		}
		return err == nil && len(ids) >= n
	})
	return ids
}

// emitEvents writes outbound events into the outbox as the processor does,
// one per order id, and returns their ids.
func emitEvents(t *testing.T, s *ushertest.Server, typ string, orders ...string) []string {
	t.Helper()
	var ids []string
	err := s.Store().InTx(context.Background(), func(tx *store.Tx) error {
		ids = ids[:0]
		for _, o := range orders {
			id := "evt_" + ushertest.NewID()
			ids = append(ids, id)
			data := eventstest.Example(t, typ, map[string]any{"order_id": o, "venue_id": server.DemoVenue})
			if err := tx.AppendOutbox(context.Background(), usher.OutboundEvent{ID: id, Type: typ, OrderID: o, VenueID: server.DemoVenue, Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("append outbox: %v", err)
	}
	return ids
}

func TestDeliveryEndToEndSignedAndFiltered(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	rc := newDLVReceiver(t, nil)
	elsewhere := newDLVReceiver(t, nil)
	sub := subscribe(t, s, map[string]any{
		"url": rc.URL + "/usher", "event_types": []string{"ticket.issued", "order.confirmed"}, "venue_ids": []string{server.DemoVenue},
	})
	subscribe(t, s, map[string]any{"url": elsewhere.URL, "event_types": []string{"*"}, "venue_ids": []string{"another-venue"}})

	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_dlv_1", 2)))
	ids := outboxIDs(t, s, 3) // 2 × ticket.issued, order.confirmed
	ushertest.Eventually(t, dlvWait, "3 deliveries", func() bool { return len(rc.requests()) >= 3 })

	wh, err := standardwebhooks.NewWebhook(sub.Secret)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, r := range rc.requests() {
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("reference library refuses delivery %s: %v", r.id(), err)
		}
		var body struct {
			Type      string          `json:"type"`
			Timestamp string          `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.Timestamp == "" || len(body.Data) == 0 {
			t.Errorf("body %s: %v", r.body, err)
		}
		types[body.Type]++
	}
	if types["ticket.issued"] != 2 || types["order.confirmed"] != 1 {
		t.Errorf("delivered types %v, want 2 ticket.issued and 1 order.confirmed", types)
	}
	got := rc.byID()
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("outbound event %s delivered %d times, want once under its own id", id, got[id])
		}
	}
	if n := len(elsewhere.requests()); n != 0 {
		t.Errorf("a subscription to another venue got %d deliveries", n)
	}

	var view dlvSubscription
	if status := s.Admin(http.MethodGet, "/v1/subscriptions/"+sub.ID, "", nil, &view); status != 200 || view.Breaker != "closed" || view.Status != "active" {
		t.Errorf("GET subscription: %d %+v, want active with its breaker closed", status, view)
	}
	var attempts struct {
		Attempts []usher.DeliveryAttempt `json:"attempts"`
	}
	ushertest.Eventually(t, dlvWait, "3 attempts recorded", func() bool {
		attempts.Attempts = nil
		return s.Admin(http.MethodGet, "/v1/subscriptions/"+sub.ID+"/attempts", "", nil, &attempts) == 200 && len(attempts.Attempts) == 3
	})
	for _, m := range []string{"usher_deliveries_total", "usher_delivery_attempt_seconds", "usher_delivery_breaker_state"} {
		if !strings.Contains(dlvMetrics(t, s), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func dlvMetrics(t *testing.T, s *ushertest.Server) string {
	t.Helper()
	return s.ScrapeMetrics()
}

func TestDeliveryRetriesFollowTheScheduleAtAControllableClock(t *testing.T) {
	t.Parallel()
	clock := ushertest.NewClock(time.Now())
	s := ushertest.Start(t, ushertest.WithClock(clock))
	rc := newDLVReceiver(t, func(n int, _ *http.Request) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	sub := subscribe(t, s, map[string]any{"url": rc.URL, "event_types": []string{"order.confirmed"}, "retry_schedule": []string{"30s", "10m", "1h"}})
	event := emitEvents(t, s, "order.confirmed", "ord_dlv_retry")[0]
	for i, scheduled := range []time.Duration{30 * time.Second, 10 * time.Minute, time.Hour} {
		var d usher.Delivery
		ushertest.Eventually(t, dlvWait, fmt.Sprintf("failure %d recorded", i+1), func() bool {
			var err error
			d, err = s.Store().Delivery(context.Background(), sub.ID, event)
			return err == nil && d.WindowAttempts == i+1
		})
		wait := d.NextAttemptAt.Sub(clock.Now())
		if wait < time.Duration(float64(scheduled)*0.8)-time.Second || wait > time.Duration(float64(scheduled)*1.2) {
			t.Fatalf("after failure %d the retry is due in %s, want %s ±20%%", i+1, wait, scheduled)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(rc.requests()); n != i+1 {
			t.Fatalf("%d requests before retry %d was due, want %d", n, i+1, i+1)
		}
		clock.Advance(wait)
	}
	ushertest.Eventually(t, dlvWait, "the delivery", func() bool {
		d, err := s.Store().Delivery(context.Background(), sub.ID, event)
		return err == nil && d.Status == usher.DeliveryDelivered
	})
	if got := rc.byID(); len(got) != 1 || got[event] != 4 {
		t.Fatalf("requests by webhook-id %v, want 4 attempts of %s", got, event)
	}
}

func TestDeliveryDeadLettersAndReplays(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	var accept atomic.Bool
	rc := newDLVReceiver(t, func(int, *http.Request) int {
		if accept.Load() {
			return 0
		}
		return http.StatusBadRequest
	})
	sub := subscribe(t, s, map[string]any{"url": rc.URL, "event_types": []string{"ticket.issued"}})
	emitEvents(t, s, "ticket.issued", "ord_dlv_1", "ord_dlv_2", "ord_dlv_3")

	type page struct {
		DeadLetters []usher.DeadLetterRecord `json:"dead_letters"`
		NextCursor  string                   `json:"next_cursor"`
	}
	list := "/v1/dlq?stage=delivery&reason=rejected&subscription_id=" + sub.ID
	var p page
	ushertest.Eventually(t, dlvWait, "3 dead letters", func() bool {
		p = page{}
		return s.Admin(http.MethodGet, list, "", nil, &p) == 200 && len(p.DeadLetters) == 3
	})
	var detail struct {
		ID               string                  `json:"id"`
		EventID          string                  `json:"event_id"`
		DeliveryAttempts []usher.DeliveryAttempt `json:"delivery_attempts"`
	}
	if status := s.Admin(http.MethodGet, "/v1/dlq/"+p.DeadLetters[0].ID, "", nil, &detail); status != 200 || len(detail.DeliveryAttempts) != 1 || detail.DeliveryAttempts[0].StatusCode != 400 {
		t.Fatalf("GET /v1/dlq/{id}: %d %+v, want its one 400 attempt", status, detail)
	}

	accept.Store(true)
	if status := s.Admin(http.MethodPost, "/v1/dlq/"+detail.ID+"/replay", "", nil, nil); status != 200 {
		t.Fatalf("replay one: %d", status)
	}
	var res struct {
		Replayed int `json:"replayed"`
	}
	if status := s.Admin(http.MethodPost, "/v1/dlq/replay", "", map[string]any{"subscription_id": sub.ID}, &res); status != 200 || res.Replayed != 2 {
		t.Fatalf("bulk replay: %d %+v, want the other 2", status, res)
	}
	for _, dl := range p.DeadLetters {
		ushertest.Eventually(t, dlvWait, "delivery after the replays", func() bool {
			d, err := s.Store().Delivery(context.Background(), sub.ID, dl.EventID)
			return err == nil && d.Status == usher.DeliveryDelivered
		})
	}
	for id, n := range rc.byID() {
		if n != 2 {
			t.Errorf("event %s: %d requests, want the rejected one and its replay", id, n)
		}
	}

	// Re-delivery of the subscription's events from a point in time.
	if status := s.Admin(http.MethodPost, "/v1/subscriptions/"+sub.ID+"/replay", "", map[string]any{"since": time.Now().Add(-time.Hour).Format(time.RFC3339)}, &res); status != 200 || res.Replayed != 3 {
		t.Fatalf("subscription replay: %d %+v, want 3", status, res)
	}
	ushertest.Eventually(t, dlvWait, "3 more deliveries", func() bool { return len(rc.requests()) >= 9 })
	p = page{}
	if status := s.Admin(http.MethodGet, list, "", nil, &p); status != 200 || len(p.DeadLetters) != 0 {
		t.Errorf("open dead letters after the replays: %d %+v, want none", status, p)
	}
}

func TestDeliveryRestartDeliversEverything(t *testing.T) {
	t.Parallel()
	var hold atomic.Bool
	hold.Store(true)
	released := make(chan struct{})
	rc := newDLVReceiver(t, func(_ int, r *http.Request) int {
		if hold.Load() {
			select {
			case <-released:
			case <-r.Context().Done():
			}
			return http.StatusServiceUnavailable
		}
		return 0
	})
	t.Cleanup(func() { close(released) })
	s := ushertest.Start(t)
	sub := subscribe(t, s, map[string]any{"url": rc.URL, "event_types": []string{"*"}})
	ids := emitEvents(t, s, "ticket.issued", "ord_dlv_a", "ord_dlv_a", "ord_dlv_b")
	ushertest.Eventually(t, dlvWait, "an attempt in flight", func() bool { return len(rc.requests()) >= 1 })

	s.Restart()
	hold.Store(false)
	for _, id := range ids {
		ushertest.Eventually(t, dlvWait, "delivery of "+id+" after the restart", func() bool {
			d, err := s.Store().Delivery(context.Background(), sub.ID, id)
			return err == nil && d.Status == usher.DeliveryDelivered
		})
	}
}

func TestDeliveryRoutesCheckScopes(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	var tok struct {
		Token string `json:"token"`
	}
	if status := s.Admin(http.MethodPost, "/v1/tokens", "", map[string]any{"scopes": []string{"dlq:read"}}, &tok); status != 201 {
		t.Fatalf("create token: %d", status)
	}
	body := map[string]any{"url": "https://hooks.example.com/", "event_types": []string{"*"}}
	if status := s.Admin(http.MethodPost, "/v1/subscriptions", tok.Token, body, nil); status != http.StatusForbidden {
		t.Errorf("create a subscription with dlq:read: %d, want 403", status)
	}
	if status := s.Admin(http.MethodPost, "/v1/dlq/replay", tok.Token, map[string]any{"all": true}, nil); status != http.StatusForbidden {
		t.Errorf("bulk replay with dlq:read: %d, want 403", status)
	}
	if status := s.Admin(http.MethodGet, "/v1/dlq", tok.Token, nil, nil); status != http.StatusOK {
		t.Errorf("list dead letters with dlq:read: %d, want 200", status)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/v1/subscriptions", nil)
	if status, _ := s.Do(req); status != http.StatusUnauthorized {
		t.Errorf("list subscriptions without a token: %d, want 401", status)
	}
	// Personal data leaves only for a caller who may read it.
	if status := s.Admin(http.MethodPost, "/v1/tokens", "", map[string]any{"scopes": []string{"subscriptions:write"}}, &tok); status != 201 {
		t.Fatalf("create token: %d", status)
	}
	body["pii"] = true
	if status := s.Admin(http.MethodPost, "/v1/subscriptions", tok.Token, body, nil); status != http.StatusForbidden {
		t.Errorf("create a pii subscription without pii:read: %d, want 403", status)
	}
	body["pii"] = false
	if status := s.Admin(http.MethodPost, "/v1/subscriptions", tok.Token, body, nil); status != http.StatusCreated {
		t.Errorf("create a subscription with subscriptions:write: %d, want 201", status)
	}
}

func TestDeliverySecretsAreSealedAtRest(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	sub := subscribe(t, s, map[string]any{"url": "https://hooks.example.com/", "event_types": []string{"*"}})
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sub.Secret, "whsec_"))
	if err != nil || len(key) != 32 {
		t.Fatalf("secret %q: %v", sub.Secret, err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.Config.DataDir, "usher.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored []byte
	if err := db.QueryRow(`SELECT secret FROM subscription_keys WHERE subscription_id = ?`, sub.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, key) || len(stored) <= len(key) {
		t.Errorf("stored subscription secret (%d bytes) holds the key in the clear", len(stored))
	}
}
