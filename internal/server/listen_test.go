package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ushertest"
)

// listenEvent is one event of a listen stream: its name and data line.
type listenEvent struct{ name, data string }

// nextEvent reads the next event of a stream, skipping comments.
func nextListenEvent(t *testing.T, sc *bufio.Scanner) listenEvent {
	t.Helper()
	var ev listenEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" && ev.data != "":
			return ev
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
	t.Fatalf("the stream ended: %v", sc.Err())
	return ev
}

// TestListenStreamMatchesTheContract opens GET /v1/listen, checks its
// events against the ListenReady and ListenDelivery schemas of the
// document, verifies a delivery's signature with the secret of the ready
// event, and sees the temporary subscription deleted once the stream closes.
func TestListenStreamMatchesTheContract(t *testing.T) {
	t.Parallel()
	doc := loadContract(t)
	s := ushertest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/v1/listen?event_types=ticket.issued", nil)
	req.Header.Set("Authorization", "Bearer "+ushertest.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /v1/listen: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	ready := nextListenEvent(t, sc)
	var r struct {
		SubscriptionID string `json:"subscription_id"`
		Secret         string `json:"secret"`
	}
	checkEvent(t, doc.Components.Schemas["ListenReady"].Value, "ready", ready, &r)
	if status, _ := s.Send(ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_listen_contract", 1))); status != http.StatusAccepted {
		t.Fatalf("send: %d", status)
	}
	var d struct {
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	checkEvent(t, doc.Components.Schemas["ListenDelivery"].Value, "delivery", nextListenEvent(t, sc), &d)
	wh, err := standardwebhooks.NewWebhook(r.Secret)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	for k, v := range d.Headers {
		h.Set(k, v)
	}
	if err := wh.Verify([]byte(d.Body), h); err != nil || !strings.Contains(d.Body, `"ticket.issued"`) {
		t.Fatalf("delivery: %v\n%s", err, d.Body)
	}
	cancel()
	ushertest.Eventually(t, 20*time.Second, "the listen subscription deleted", func() bool {
		return s.Admin("GET", "/v1/subscriptions/"+r.SubscriptionID, "", nil, nil) == http.StatusNotFound
	})
}

// checkEvent checks an event's name and its data against schema, then
// decodes the data into out.
func checkEvent(t *testing.T, schema *openapi3.Schema, name string, ev listenEvent, out any) {
	t.Helper()
	if ev.name != name {
		t.Fatalf("event %q, want %q: %s", ev.name, name, ev.data)
	}
	var v any
	if err := json.Unmarshal([]byte(ev.data), &v); err != nil {
		t.Fatalf("%s data: %v", name, err)
	}
	if err := schema.VisitJSON(v); err != nil {
		t.Fatalf("%s data does not match its schema: %v\n%s", name, err, ev.data)
	}
	if err := json.Unmarshal([]byte(ev.data), out); err != nil {
		t.Fatal(err)
	}
}

// TestExpiredListenSubscriptionsAreDeleted: the subscription of a stream
// whose process died (an expired usher-listen destination no process holds)
// is deleted by the delivery loop, with an audit record.
func TestExpiredListenSubscriptionsAreDeleted(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	ctx := context.Background()
	now := time.Now().UTC()
	sub := usher.Subscription{
		ID: "sub_deadlistener", URL: "usher-listen://lst_dead?expires=" + strconv.FormatInt(now.Add(-time.Minute).Unix(), 10),
		EventTypes: []string{"*"}, Signing: "hmac", Status: usher.SubscriptionActive, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	key := usher.SubscriptionKey{ID: "key_deadlistener", SubscriptionID: sub.ID, Algorithm: "hmac", Secret: make([]byte, 32), CreatedAt: now}
	if err := s.Store().InTx(ctx, func(tx *store.Tx) error { return tx.InsertSubscription(ctx, sub, key) }); err != nil {
		t.Fatal(err)
	}
	ushertest.Eventually(t, 20*time.Second, "the expired listen subscription deleted", func() bool {
		return s.Admin("GET", "/v1/subscriptions/"+sub.ID, "", nil, nil) == http.StatusNotFound
	})
}
