package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/delivery/ssrf"
	"github.com/usherhq/usher/internal/store"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	schedule := []time.Duration{10 * time.Second, time.Minute}
	for _, tc := range []struct {
		name       string
		n          int
		retryAfter time.Duration
		left       time.Duration // of the window, after the attempt
		rnd        float64
		want       time.Duration
	}{
		{"lowest jitter", 1, 0, time.Hour, 0, 8 * time.Second},
		{"middle", 1, 0, time.Hour, 0.5, 10 * time.Second},
		{"highest jitter", 1, 0, time.Hour, 0.99999999, 12 * time.Second},
		{"second retry", 2, 0, time.Hour, 0.5, time.Minute},
		{"retry-after longer", 1, 15 * time.Second, time.Hour, 0.5, 15 * time.Second},
		{"retry-after far longer: honoured in full within the window", 1, 30 * time.Minute, time.Hour, 0.99999999, 30 * time.Minute},
		{"retry-after past the window: up to its end", 1, 2 * time.Hour, time.Hour, 0.5, time.Hour},
		{"retry-after with the window spent: the schedule", 1, time.Hour, time.Second, 0.5, 10 * time.Second},
		{"retry-after shorter: at least the schedule", 1, time.Second, time.Hour, 0, 10 * time.Second},
		{"retry-after shorter than the jittered delay", 1, time.Second, time.Hour, 0.99999999, 12 * time.Second},
	} {
		got := retryDelay(schedule, tc.n, tc.retryAfter, tc.left, 0.2, func() float64 { return tc.rnd })
		if got.Round(time.Millisecond) != tc.want {
			t.Errorf("%s: retryDelay = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	forbidden := fmt.Errorf("dial: %w", ssrf.ErrForbiddenDestination)
	for _, tc := range []struct {
		r       result
		want    verdict
		reason  string
		failing bool
	}{
		{result{status: 200}, delivered, "", false},
		{result{status: 204}, delivered, "", false},
		{result{status: 400}, reject, ReasonRejected, false},
		{result{status: 401}, reject, ReasonRejected, false},
		{result{status: 404}, reject, ReasonRejected, false},
		{result{status: 410}, gone, ReasonGone, false},
		{result{status: 408}, retry, "", true},
		{result{status: 409}, retry, "", false},
		{result{status: 425}, retry, "", false},
		{result{status: 429}, retry, "", true},
		{result{status: 500}, retry, "", true},
		{result{status: 503}, retry, "", true},
		{result{status: 302}, retry, "", false},
		{result{err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, retry, "", true},
		{result{err: context.DeadlineExceeded}, retry, "", true},
		{result{err: forbidden}, reject, ReasonForbidden, false},
		{result{err: fmt.Errorf("%w: no data", errNoEvent)}, reject, ReasonNoEvent, false},
	} {
		v, reason := judge(tc.r)
		if v != tc.want || reason != tc.reason || tc.r.endpointFailed() != tc.failing {
			t.Errorf("judge(%+v) = %v %q failing %v, want %v %q failing %v", tc.r, v, reason, tc.r.endpointFailed(), tc.want, tc.reason, tc.failing)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "30": 30 * time.Second, "0": 0, "-5": 0, "soon": 0,
		now.Add(2 * time.Minute).Format(http.TimeFormat): 2 * time.Minute,
		now.Add(-time.Minute).Format(http.TimeFormat):    0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

// TestConfigDefaultsAndSchedule: the defaults validate, a schedule parses
// from its text form and a bad one is refused. Reading the settings from
// flags, environment and YAML is cmd/usher's (TestDeliveryAndPassSettings).
func TestConfigDefaultsAndSchedule(t *testing.T) {
	t.Parallel()
	sched, err := ParseSchedule("5s, 5m,30m,2h,5h,10h")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{RetrySchedule: sched, ConnectTimeout: 2 * time.Second, Timeout: 20 * time.Second, Concurrency: 4, AllowPrivate: true}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}
	if !slices.Equal(cfg.RetrySchedule, want) {
		t.Fatalf("schedule %v, want %v", cfg.RetrySchedule, want)
	}
	def := Config{}.WithDefaults()
	if err := def.Validate(); err != nil || window(def.RetrySchedule) < 24*time.Hour || len(def.RetrySchedule)+1 != 8 {
		t.Fatalf("default config: %v; window %s with %d attempts, want 8 attempts over more than a day", err, window(def.RetrySchedule), len(def.RetrySchedule)+1)
	}
	for _, bad := range []string{"5s,later", "100ms", ""} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted it", bad)
		}
	}
	if err := (Config{ConnectTimeout: time.Minute, Timeout: time.Second}).WithDefaults().Validate(); err == nil {
		t.Error("a connect timeout longer than the total was accepted")
	}
}

func TestEventBodyWithoutPII(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	data := json.RawMessage(`{"order_id":"ord_1","amount":12.50,"buyer":{"email":"ada@example.com"},"tickets":[{"id":"t1","holder_name":"Ada"}]}`)
	got, err := eventBody("order.confirmed", "2026-12-01", at, data, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"order.confirmed","version":"2026-12-01","timestamp":"2025-01-02T15:04:05Z","data":{"amount":12.50,"order_id":"ord_1","tickets":[{"id":"t1"}]}}`
	if string(got) != want {
		t.Errorf("without pii:\n got %s\nwant %s", got, want)
	}
	with, _ := eventBody("order.confirmed", "2026-12-01", at, data, true)
	if !strings.Contains(string(with), `"buyer":{"email":"ada@example.com"}`) {
		t.Errorf("with pii: %s", with)
	}
	clean := json.RawMessage(`{"ticket_id":"t1"}`)
	if b, _ := eventBody("ticket.issued", "2026-12-01", at, clean, false); !strings.Contains(string(b), `"data":{"ticket_id":"t1"}`) {
		t.Errorf("data without personal fields changed: %s", b)
	}
}

func TestWants(t *testing.T) {
	t.Parallel()
	ev := usher.OutboundEvent{Type: "ticket.issued", VenueID: "venue_1"}
	for _, tc := range []struct {
		types, venues []string
		status        string
		want          bool
	}{
		{[]string{"ticket.issued"}, nil, usher.SubscriptionActive, true},
		{[]string{"ticket.*"}, nil, usher.SubscriptionActive, true},
		{[]string{"*"}, []string{"venue_1"}, usher.SubscriptionPaused, true},
		{[]string{"ticket.revoked"}, nil, usher.SubscriptionActive, false},
		{[]string{"tick*"}, nil, usher.SubscriptionActive, true},
		{[]string{"*"}, []string{"venue_2"}, usher.SubscriptionActive, false},
		{[]string{"*"}, nil, usher.SubscriptionDisabled, false},
	} {
		sub := usher.Subscription{EventTypes: tc.types, VenueIDs: tc.venues, Status: tc.status}
		if got := wants(sub, ev); got != tc.want {
			t.Errorf("wants(%v, %v, %s) = %v", tc.types, tc.venues, tc.status, got)
		}
	}
}

// hidingStore hides outbox events from the dispatcher, as a transaction
// that has taken a sequence number but not committed would on PostgreSQL.
type hidingStore struct {
	store.Bound[Tx]
	mu     sync.Mutex
	hidden map[int64]bool
}

func (s *hidingStore) visible(evs []usher.OutboundEvent) []usher.OutboundEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.DeleteFunc(evs, func(ev usher.OutboundEvent) bool { return s.hidden[ev.Seq] })
}

func (s *hidingStore) OutboxAfter(ctx context.Context, after int64, limit int) ([]usher.OutboundEvent, error) {
	evs, err := s.Bound.OutboxAfter(ctx, after, limit)
	return s.visible(evs), err
}

func (s *hidingStore) OutboxBySeq(ctx context.Context, seqs []int64) ([]usher.OutboundEvent, error) {
	evs, err := s.Bound.OutboxBySeq(ctx, seqs)
	return s.visible(evs), err
}

func TestDispatcherWaitsForSkippedSequenceNumbers(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.svc.Stop() // the dispatcher is driven by hand here
	ctx := context.Background()
	evs := h.emit("ticket.issued", "ord_1", "ord_2", "ord_3")
	st := &hidingStore{Bound: bound(h.db), hidden: map[int64]bool{}}
	all, _ := h.db.OutboxAfter(ctx, 0, 10)
	st.hidden[all[1].Seq] = true
	sub, _ := h.subscribe("http://127.0.0.1:9/")
	d := newDispatcher(st, h.clock.Now, Config{BatchSize: 10, GapTimeout: time.Minute})

	if _, _, err := d.pass(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ := h.db.DeliveryCursor(ctx, cursorName); cur != all[0].Seq {
		t.Fatalf("cursor %d with seq %d not yet visible, want %d (just below it)", cur, all[1].Seq, all[0].Seq)
	}
	if _, err := h.db.Delivery(ctx, sub.ID, evs[2].ID); err != nil {
		t.Fatalf("the event after the gap was not dispatched: %v", err)
	}
	// The transaction commits: the next pass finds it.
	st.mu.Lock()
	delete(st.hidden, all[1].Seq)
	st.mu.Unlock()
	if _, _, err := d.pass(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.Delivery(ctx, sub.ID, evs[1].ID); err != nil {
		t.Fatalf("the late event was not dispatched: %v", err)
	}
	if cur, _ := h.db.DeliveryCursor(ctx, cursorName); cur != all[2].Seq {
		t.Fatalf("cursor %d after the gap filled, want %d", cur, all[2].Seq)
	}

	// A number that never appears (a rolled-back insert) is given up on
	// after the timeout.
	more := h.emit("ticket.issued", "ord_4", "ord_5")
	later, _ := h.db.OutboxAfter(ctx, all[2].Seq, 10)
	st.mu.Lock()
	st.hidden[later[0].Seq] = true
	st.mu.Unlock()
	if _, _, err := d.pass(ctx); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Minute)
	if _, _, err := d.pass(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ := h.db.DeliveryCursor(ctx, cursorName); cur != later[1].Seq {
		t.Fatalf("cursor %d after the gap timed out, want %d", cur, later[1].Seq)
	}
	_ = more
}

// raceStore runs a hook once, the first time the dispatcher reads the
// outbox after it is armed: what the hook does lands between the service's
// read of the subscriptions and the dispatcher's read of the events.
type raceStore struct {
	store.Bound[Tx]
	hook atomic.Pointer[func()]
}

func (s *raceStore) OutboxAfter(ctx context.Context, after int64, limit int) ([]usher.OutboundEvent, error) {
	if f := s.hook.Swap(nil); f != nil {
		(*f)()
	}
	return s.Bound.OutboxAfter(ctx, after, limit)
}

// A subscription created, then sent an event, while a delivery pass is
// between its reads still gets the event: the pass reads the subscriptions
// after the events. Read before, the cursor moved past the event with no
// delivery for the new subscription, and the event never reached it.
func TestSubscriptionCreatedDuringAPassGetsTheNextEvent(t *testing.T) {
	t.Parallel()
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "usher.db"), clock: newClock()}
	h.db = openStore(t, h.path)
	t.Cleanup(func() { _ = h.db.Close() })
	st := &raceStore{Bound: bound(h.db)}
	svc, err := New(st, testConfig(), Options{Logger: testLogger(t), Now: h.clock.Now, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	rc := newReceiver(t, nil)
	var sub usher.Subscription
	var ev usher.OutboundEvent
	done := make(chan struct{})
	hook := func() {
		defer close(done)
		sub, _ = h.subscribe(rc.URL)
		ev = h.emit("ticket.issued", "ord_1")[0]
	}
	st.hook.Store(&hook)
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	select {
	case <-done:
	case <-time.After(waitLong):
		t.Fatal("the dispatcher never read the outbox")
	}
	h.waitDelivery(sub.ID, ev.ID, "the event delivered to the subscription created during the pass", func(d usher.Delivery) bool {
		return d.Status == usher.DeliveryDelivered
	})
}
