package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events/eventstest"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/enginetest"
)

// waitLong bounds every wait for something the lanes do; generous, because
// -race on a busy machine is slow, and never a measured threshold.
const waitLong = time.Minute

// fakeClock is the lanes' clock in tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// harness is a delivery Service on a real SQLite store with a fake clock.
type harness struct {
	t     *testing.T
	path  string
	db    *store.DB
	clock *fakeClock
	reg   *prometheus.Registry
	svc   *Service
	// instance names the process the Service plays: a restart with the same
	// one ends the leases its previous run left behind.
	instance string
}

// testConfig is fast: the lanes look at the store every few milliseconds,
// and loopback receivers are allowed.
func testConfig() Config {
	return Config{PollInterval: 10 * time.Millisecond, AllowPrivate: true, Timeout: 10 * time.Second, ReplayRate: 100000}
}

func openStore(t *testing.T, path string) *store.DB {
	t.Helper()
	return enginetest.SQLiteAt(t, path)
}

// setup starts a Service; change adjusts its config first.
func setup(t *testing.T, change ...func(*Config)) *harness {
	t.Helper()
	return setupAs(t, "", change...)
}

// setupAs starts a Service as the named instance.
func setupAs(t *testing.T, instance string, change ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "usher.db"), clock: newClock(), instance: instance}
	h.db = openStore(t, h.path)
	t.Cleanup(func() { _ = h.db.Close() })
	h.start(change...)
	return h
}

// bound is db as the lanes use it.
func bound(db *store.DB) store.Bound[Tx] {
	return store.Bind(db, func(tx *store.Tx) Tx { return tx })
}

// start starts a new Service on h.db.
func (h *harness) start(change ...func(*Config)) {
	h.t.Helper()
	cfg := testConfig()
	for _, c := range change {
		c(&cfg)
	}
	h.reg = prometheus.NewRegistry()
	svc, err := New(bound(h.db), cfg, Options{Logger: testLogger(h.t), Now: h.clock.Now, Registerer: h.reg, Instance: h.instance})
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	if err := svc.Start(context.Background()); err != nil {
		h.t.Fatalf("Start: %v", err)
	}
	h.svc = svc
	h.t.Cleanup(svc.Stop)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// subscribe creates a subscription to every event type at url.
func (h *harness) subscribe(url string, change ...func(*SubscriptionSpec)) (usher.Subscription, string) {
	h.t.Helper()
	spec := SubscriptionSpec{URL: url, EventTypes: []string{"*"}, PII: true}
	for _, c := range change {
		c(&spec)
	}
	sub, _, secret, err := h.svc.CreateSubscription(context.Background(), spec)
	if err != nil {
		h.t.Fatalf("CreateSubscription(%s): %v", url, err)
	}
	return sub, secret
}

// emit writes outbound events, one per order id given, and returns them.
func (h *harness) emit(typ string, orders ...string) []usher.OutboundEvent {
	h.t.Helper()
	var out []usher.OutboundEvent
	err := h.db.InTx(context.Background(), func(tx *store.Tx) error {
		out = out[:0]
		for _, o := range orders {
			ev := usher.OutboundEvent{ID: fmt.Sprintf("evt_%s_%d", o, seq.Add(1)), Type: typ, OrderID: o, VenueID: "venue_1",
				Data: eventstest.Example(h.t, typ, map[string]any{"order_id": o})}
			if err := tx.AppendOutbox(context.Background(), ev); err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		h.t.Fatalf("append outbox: %v", err)
	}
	return out
}

var seq atomic.Int64

func (h *harness) delivery(sub, event string) usher.Delivery {
	h.t.Helper()
	d, err := h.db.Delivery(context.Background(), sub, event)
	if err != nil {
		h.t.Fatalf("Delivery(%s, %s): %v", sub, event, err)
	}
	return d
}

// waitDelivery waits until the delivery satisfies cond and returns it.
func (h *harness) waitDelivery(sub, event, what string, cond func(usher.Delivery) bool) usher.Delivery {
	h.t.Helper()
	var d usher.Delivery
	eventually(h.t, what, func() bool {
		var err error
		d, err = h.db.Delivery(context.Background(), sub, event)
		return err == nil && cond(d)
	})
	return d
}

func (h *harness) attempts(sub, event string) []usher.DeliveryAttempt {
	h.t.Helper()
	a, err := h.db.DeliveryAttempts(context.Background(), usher.AttemptFilter{SubscriptionID: sub, EventID: event, Limit: 1000})
	if err != nil {
		h.t.Fatalf("DeliveryAttempts: %v", err)
	}
	slices.Reverse(a)
	return a
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, waitLong, what, cond)
}

func eventuallyWithin(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// received is one request a receiver got.
type received struct {
	ID, Timestamp, Signature string
	Header                   http.Header
	Body                     []byte
}

// receiver is a real HTTP endpoint on 127.0.0.1 that records every request
// and answers with respond (200 when nil).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	reqs     []received
	respond  func(n int, w http.ResponseWriter, r *http.Request)
	accepted atomic.Int64 // connections
	t        *testing.T
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond, t: t}
	rc.Server = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	rc.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rc.accepted.Add(1)
		}
	}
	rc.Start()
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := eventstest.Check(body); err != nil {
		rc.t.Errorf("off-contract delivery: %v", err)
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, received{
		ID: r.Header.Get(headerID), Timestamp: r.Header.Get(headerTimestamp), Signature: r.Header.Get(headerSignature),
		Header: r.Header.Clone(), Body: body,
	})
	n := len(rc.reqs)
	rc.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if rc.respond != nil {
		rc.respond(n, w, r)
	}
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

func (rc *receiver) waitCount(t *testing.T, n int) []received {
	t.Helper()
	eventually(t, fmt.Sprintf("%d requests at %s", n, rc.URL), func() bool { return rc.count() >= n })
	return rc.requests()
}

// status answers every request with code.
func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}
