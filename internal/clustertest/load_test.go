package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/webhook"
)

// order is one order's two webhooks, sent one after the other: the paid
// only once the created is acknowledged, so the stream holds them in order.
type order struct {
	ID      string
	Qty     int
	Created string // event ids
	Paid    string
}

// clusterSize is the number of orders per scenario (two webhooks each):
// USHER_CLUSTER_SIZE, default 150.
func clusterSize(t *testing.T) int {
	if v := os.Getenv("USHER_CLUSTER_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			t.Fatalf("USHER_CLUSTER_SIZE=%q: want a number of orders >= 2", v)
		}
		return n
	}
	return 150
}

func body(typ, orderID string, qty int) []byte {
	data := map[string]any{
		"order_id": orderID, "show_id": server.DemoShow, "venue_id": server.DemoVenue,
		"items": []map[string]any{{"ticket_type": server.DemoTicketType, "quantity": qty}},
		"buyer": map[string]string{"email": "ada@example.com", "name": "Ada Lovelace"},
	}
	if typ == "order.created" {
		data["hold_expires_at"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	}
	b, _ := json.Marshal(map[string]any{"type": typ, "timestamp": time.Now().UTC().Format(time.RFC3339), "data": data})
	return b
}

// ack is one acknowledged webhook and when it was acknowledged.
type ack struct {
	id string
	at time.Time
}

// burstResult is what the senders saw.
type burstResult struct {
	orders []order
	mu     sync.Mutex
	acks   []ack
}

func (r *burstResult) acked(id string) {
	r.mu.Lock()
	r.acks = append(r.acks, ack{id, time.Now()})
	r.mu.Unlock()
}

// acksBetween counts the webhooks acknowledged in [from, to].
func (r *burstResult) acksBetween(from, to time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.acks {
		if !a.at.Before(from) && !a.at.After(to) {
			n++
		}
	}
	return n
}

// burst sends n orders through both receivers with 16 senders, each
// webhook retried like a provider retries until a receiver acknowledges it.
// Once half the webhooks are acknowledged fault runs (alongside the
// senders); burst returns when every webhook is acknowledged and fault ended.
func (d *deployment) burst(prefix string, n int, fault func()) *burstResult {
	d.t.Helper()
	r := &burstResult{}
	for i := range n {
		id := fmt.Sprintf("ord_%s_%d", prefix, i)
		r.orders = append(r.orders, order{ID: id, Qty: 1 + i%2, Created: "evt_c_" + id, Paid: "evt_p_" + id})
	}
	var sent atomic.Int64
	faultDone := make(chan struct{})
	var once sync.Once
	trigger := func() {
		if fault == nil || sent.Add(1) != int64(n) { // half of 2n webhooks
			return
		}
		once.Do(func() { go func() { defer close(faultDone); fault() }() })
	}
	next := make(chan order)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for o := range next {
				for _, ev := range []struct {
					id, typ string
				}{{o.Created, "order.created"}, {o.Paid, "order.paid"}} {
					d.sendUntilAcked(w, ev.id, body(ev.typ, o.ID, o.Qty))
					r.acked(ev.id)
					trigger()
				}
			}
		})
	}
	for _, o := range r.orders {
		next <- o
	}
	// Keep sending until the fault is over, so that the webhooks sent
	// during it do not depend on how fast the first ones went (on a quick
	// machine the second half of the burst was acknowledged before
	// PostgreSQL was even down). They go at about 100 orders a second.
	pace := time.NewTicker(10 * time.Millisecond)
	defer pace.Stop()
	for i, over := 0, fault == nil; !over; i++ {
		o := order{ID: fmt.Sprintf("ord_%s_x%d", prefix, i), Qty: 1 + i%2}
		o.Created, o.Paid = "evt_c_"+o.ID, "evt_p_"+o.ID
		select {
		case <-faultDone:
			over = true
		case <-pace.C:
			next <- o
			r.orders = append(r.orders, o)
		}
	}
	close(next)
	wg.Wait()
	return r
}

// sendUntilAcked posts one webhook, alternating receivers, until one
// answers 2xx; it fails the test after two minutes.
func (d *deployment) sendUntilAcked(worker int, id string, b []byte) {
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		u := d.ingest[(worker+attempt)%len(d.ingest)]
		status, err := d.post(u.URL, id, b)
		if err == nil && status/100 == 2 {
			return
		}
		last = fmt.Sprintf("%d %v", status, err)
		time.Sleep(min(time.Duration(attempt+1)*100*time.Millisecond, time.Second))
	}
	d.t.Errorf("webhook %s never acknowledged; last answer %s", id, last)
}

func (d *deployment) post(baseURL, id string, b []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/webhooks/"+d.source, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	scheme, _ := webhook.Lookup(webhook.SchemeStandardWebhooks)
	for k, v := range scheme.Sign(id, time.Now(), b, d.key) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
