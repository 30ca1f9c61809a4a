package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/webhook"
)

// event is one order.paid webhook as a provider keeps it for its retries:
// the id and the body never change, only the signature's timestamp does.
type event struct {
	ID       string
	OrderID  string
	Show     string
	Quantity int
	Body     []byte
}

// newEvent builds an order.paid for show with a body of about 1 KiB.
func newEvent(id, orderID, show string, quantity int) event {
	data := map[string]any{
		"order_id": orderID, "show_id": show, "venue_id": "crash-venue",
		"items": []map[string]any{{"ticket_type": "GA", "quantity": quantity}},
		"buyer": map[string]string{"email": "ada@example.com", "name": "Ada Lovelace"},
		"note":  strings.Repeat("x", 700),
	}
	body, err := json.Marshal(map[string]any{"type": "order.paid", "timestamp": time.Now().UTC().Format(time.RFC3339), "data": data})
	if err != nil {
		panic(err)
	}
	return event{ID: id, OrderID: orderID, Show: show, Quantity: quantity, Body: body}
}

// sender signs and posts webhooks to one source as a provider would.
type sender struct {
	client *http.Client
	source string
	key    webhook.Secret
	scheme webhook.Scheme
}

func newSender(client *http.Client, source string, key webhook.Secret) *sender {
	scheme, ok := webhook.Lookup(webhook.SchemeStandardWebhooks)
	if !ok {
		panic("no standard-webhooks scheme")
	}
	return &sender{client: client, source: source, key: key, scheme: scheme}
}

// reply is what one delivery attempt got.
type reply struct {
	Status      int
	ContentType string
	RetryAfter  string
	Body        []byte
	Err         error
}

// accepted reports a 2xx: the provider stops retrying.
func (r reply) accepted() bool { return r.Err == nil && r.Status >= 200 && r.Status < 300 }

func (r reply) String() string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return fmt.Sprintf("%d %s %s", r.Status, r.ContentType, bytes.TrimSpace(r.Body))
}

// send signs ev now and posts it to baseURL.
func (s *sender) send(ctx context.Context, baseURL string, ev event) reply {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/webhooks/"+s.source, bytes.NewReader(ev.Body))
	if err != nil {
		return reply{Err: err}
	}
	for k, v := range s.scheme.Sign(ev.ID, time.Now(), ev.Body, s.key) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return reply{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return reply{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), RetryAfter: resp.Header.Get("Retry-After"), Body: body, Err: err}
}
