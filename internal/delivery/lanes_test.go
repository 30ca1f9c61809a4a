package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher"
)

// quiet checks that nothing arrives at rc for a while: long enough for
// many passes of the lanes (every 5ms in tests), so a wrong send would show.
func quiet(t *testing.T, rc *receiver, n int, why string) {
	t.Helper()
	time.Sleep(150 * time.Millisecond)
	if got := rc.count(); got != n {
		t.Fatalf("%s: %d requests, want %d", why, got, n)
	}
}

func TestFailThreeTimesThenSucceedFollowsTheSchedule(t *testing.T) {
	t.Parallel()
	h := setup(t) // the default schedule: 5s, 5m, 30m, 2h, …
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 3 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	sub, _ := h.subscribe(rc.URL)
	ev := h.emit("ticket.issued", "ord_1")[0]

	for i, scheduled := range DefaultRetrySchedule[:3] {
		rc.waitCount(t, i+1)
		d := h.waitDelivery(sub.ID, ev.ID, "the retry to be scheduled", func(d usher.Delivery) bool { return d.WindowAttempts == i+1 })
		last := h.attempts(sub.ID, ev.ID)[i]
		wait := d.NextAttemptAt.Sub(last.At)
		lo, hi := time.Duration(float64(scheduled)*0.8), time.Duration(float64(scheduled)*1.2)
		if d.Status != usher.DeliveryPending || wait < lo || wait > hi {
			t.Fatalf("after failure %d: %s, next attempt in %s; want pending, in %s ±20%%", i+1, d.Status, wait, scheduled)
		}
		h.clock.Set(d.NextAttemptAt.Add(-time.Millisecond))
		quiet(t, rc, i+1, fmt.Sprintf("a millisecond before retry %d is due", i+1))
		h.clock.Set(d.NextAttemptAt)
	}
	rc.waitCount(t, 4)
	d := h.waitDelivery(sub.ID, ev.ID, "delivered", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDelivered })
	h.clock.Advance(24 * time.Hour)
	quiet(t, rc, 4, "after the success")
	reqs := rc.requests()
	for _, r := range reqs {
		if r.ID != ev.ID {
			t.Errorf("a retry carried webhook-id %q, want the stable %q", r.ID, ev.ID)
		}
	}
	attempts := h.attempts(sub.ID, ev.ID)
	codes := []int{}
	for _, a := range attempts {
		codes = append(codes, a.StatusCode)
	}
	if !slices.Equal(codes, []int{500, 500, 500, 200}) || d.Attempts != 4 {
		t.Fatalf("attempts %v (delivery says %d), want 500, 500, 500, 200", codes, d.Attempts)
	}
	for i := 1; i < len(reqs); i++ {
		prev, _ := strconv.ParseInt(reqs[i-1].Timestamp, 10, 64)
		cur, _ := strconv.ParseInt(reqs[i].Timestamp, 10, 64)
		want := DefaultRetrySchedule[i-1]
		if gap := time.Duration(cur-prev) * time.Second; gap < time.Duration(float64(want)*0.8)-time.Second || gap > time.Duration(float64(want)*1.2)+time.Second {
			t.Errorf("webhook-timestamp gap before attempt %d = %s, want %s ±20%%", i+1, gap, want)
		}
	}
	if got, _ := h.db.Subscription(context.Background(), sub.ID); !got.FailingSince.IsZero() || got.Status != usher.SubscriptionActive {
		t.Errorf("subscription after the success: %+v, want active and not failing", got)
	}
}

func TestHangingEndpointDoesNotDelayAnotherSubscription(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.Timeout, c.Concurrency = time.Minute, 2 })
	release := make(chan struct{})
	var hanging atomic.Int64
	stuck := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		defer hanging.Add(-1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // before the receiver closes: cleanups run last first
	healthy := newReceiver(t, nil)
	h.subscribe(stuck.URL)
	h.subscribe(healthy.URL)

	// Fill the hanging lane: both its slots stuck, more waiting behind.
	h.emit("ticket.issued", "ord_a", "ord_b", "ord_c")
	eventually(t, "the hanging lane to be full", func() bool { return hanging.Load() == 2 })

	var latencies []time.Duration
	for i := range 10 {
		start := time.Now()
		h.receive(healthy, "ticket.issued", "ord_h"+strconv.Itoa(i))
		latencies = append(latencies, time.Since(start))
	}
	if n := hanging.Load(); n != 2 {
		t.Fatalf("the hanging endpoint holds %d requests, want 2 still stuck", n)
	}
	slices.Sort(latencies)
	t.Logf("healthy lane latency while the other hangs: median %s, max %s", latencies[len(latencies)/2], latencies[len(latencies)-1])
	if max := latencies[len(latencies)-1]; max > 10*time.Second {
		t.Errorf("healthy lane took up to %s per delivery while another lane hung", max)
	}
}

func TestFourHundredGoesToTheDLQAtOnce(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rc := newReceiver(t, status(http.StatusUnprocessableEntity))
	sub, _ := h.subscribe(rc.URL)
	ev := h.emit("ticket.issued", "ord_1")[0]
	d := h.waitDelivery(sub.ID, ev.ID, "dead", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDead })
	dl, err := h.db.DeadLetterByID(context.Background(), deadLetterID(sub.ID, ev.ID))
	if err != nil {
		t.Fatalf("dead letter: %v", err)
	}
	if d.Attempts != 1 || dl.Reason != ReasonRejected || dl.Stage != StageDelivery || dl.Attempts != 1 || dl.LastError != "http 422" || dl.EventID != ev.ID {
		t.Fatalf("after a 422: delivery %+v, dead letter %+v; want one attempt, reason rejected", d, dl)
	}
	h.clock.Advance(48 * time.Hour)
	quiet(t, rc, 1, "after a non-retriable 4xx")
	if got, _ := h.db.Subscription(context.Background(), sub.ID); got.Status != usher.SubscriptionActive {
		t.Errorf("subscription %s after a 422, want active", got.Status)
	}
}

func TestRetriableFourHundredsAreRetried(t *testing.T) {
	t.Parallel()
	for _, code := range []int{408, 409, 425, 429} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			rc := newReceiver(t, status(code))
			sub, _ := h.subscribe(rc.URL)
			ev := h.emit("ticket.issued", "ord_1")[0]
			d := h.waitDelivery(sub.ID, ev.ID, "a retry", func(d usher.Delivery) bool { return d.WindowAttempts == 1 })
			if d.Status != usher.DeliveryPending {
				t.Fatalf("after %d: %s, want pending for a retry", code, d.Status)
			}
		})
	}
}

func TestFiveHundredGoesToTheDLQAfterItsWindowAndDisables(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.RetrySchedule = []time.Duration{time.Second, 2 * time.Second} })
	rc := newReceiver(t, status(http.StatusBadGateway))
	ops := newReceiver(t, nil)
	sub, _ := h.subscribe(rc.URL)
	opsSub, _ := h.subscribe(ops.URL, func(s *SubscriptionSpec) { s.EventTypes = []string{EventSubscriptionDisabled} })
	ev := h.emit("ticket.issued", "ord_1")[0]
	for n := 1; n <= 2; n++ {
		d := h.waitDelivery(sub.ID, ev.ID, "a retry", func(d usher.Delivery) bool { return d.WindowAttempts == n })
		if d.Status != usher.DeliveryPending {
			t.Fatalf("after attempt %d: %s, want a retry", n, d.Status)
		}
		h.clock.Set(d.NextAttemptAt)
	}
	d := h.waitDelivery(sub.ID, ev.ID, "dead", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDead })
	if d.Attempts != 3 {
		t.Fatalf("dead after %d attempts, want 3 (1 + 2 retries)", d.Attempts)
	}
	dl, err := h.db.DeadLetterByID(context.Background(), deadLetterID(sub.ID, ev.ID))
	if err != nil || dl.Reason != ReasonExhausted || dl.FirstError != "http 502" || dl.Attempts != 3 {
		t.Fatalf("dead letter %+v, %v; want reason exhausted after 3 attempts", dl, err)
	}
	got, _ := h.db.Subscription(context.Background(), sub.ID)
	if got.Status != usher.SubscriptionDisabled || got.DisabledReason == "" {
		t.Fatalf("subscription failing for its whole window: %s (%q), want disabled", got.Status, got.DisabledReason)
	}
	// The operator event reaches a subscription that wants it.
	op := ops.waitCount(t, 1)[0]
	if !bytesContain(op.Body, `"type":"subscription.disabled"`) || !bytesContain(op.Body, sub.ID) {
		t.Fatalf("operator event %s, want subscription.disabled naming %s", op.Body, sub.ID)
	}
	_ = opsSub
	records, _ := h.db.AuditLog(context.Background(), usher.AuditFilter{Actor: lanesActor})
	if len(records) != 1 || records[0].Action != ActionSubscriptionDisabled || records[0].EntityID != sub.ID {
		t.Errorf("audit records of the lanes %+v, want the one disabling %s", records, sub.ID)
	}
	// Disabled: new events are not even recorded for it.
	ev2 := h.emit("ticket.issued", "ord_2")[0]
	h.clock.Advance(time.Hour)
	quiet(t, rc, 3, "a disabled subscription")
	if _, err := h.db.Delivery(context.Background(), sub.ID, ev2.ID); usher.ErrorCode(err) != usher.CodeNotFound {
		t.Errorf("delivery to a disabled subscription: %v, want none recorded", err)
	}
}

func bytesContain(b []byte, s string) bool { return strings.Contains(string(b), s) }

func TestGoneDisablesTheSubscription(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rc := newReceiver(t, status(http.StatusGone))
	sub, _ := h.subscribe(rc.URL)
	evs := h.emit("ticket.issued", "ord_1", "ord_2")
	ev := evs[0]
	h.waitDelivery(sub.ID, ev.ID, "dead", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDead })
	eventually(t, "the subscription to be disabled", func() bool {
		got, _ := h.db.Subscription(context.Background(), sub.ID)
		return got.Status == usher.SubscriptionDisabled
	})
	dl, _ := h.db.DeadLetterByID(context.Background(), deadLetterID(sub.ID, ev.ID))
	if dl.Reason != ReasonGone {
		t.Errorf("dead letter reason %q, want gone", dl.Reason)
	}
	all, _ := h.db.OutboxAfter(context.Background(), 0, 100)
	if last := all[len(all)-1]; last.Type != EventSubscriptionDisabled || !bytesContain(last.Data, "410") {
		t.Errorf("last outbox event %+v, want subscription.disabled for the 410", last)
	}
	h.waitDelivery(sub.ID, evs[1].ID, "the other order settled or left", func(d usher.Delivery) bool { return d.LeaseToken == "" })
	n := rc.count()
	h.clock.Advance(time.Hour)
	quiet(t, rc, n, "after 410 Gone")
}

func TestBreakerOpensAndRecoversAfterAProbe(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) {
		c.BreakerFailures, c.BreakerTimeout, c.Concurrency = 3, 1500*time.Millisecond, 1
		c.RetrySchedule = []time.Duration{time.Second, time.Second, time.Second, time.Second, time.Second}
	})
	var failing atomic.Bool
	failing.Store(true)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	sub, _ := h.subscribe(rc.URL)
	evs := h.emit("ticket.issued", "ord_a", "ord_b", "ord_c", "ord_d", "ord_e")
	rc.waitCount(t, 3)
	eventually(t, "the breaker to open", func() bool { return h.svc.BreakerState(sub.ID) == "open" })
	if n := rc.count(); n != 3 {
		t.Fatalf("%d requests before the breaker opened, want 3 (one lane slot, 3 failures)", n)
	}
	if v := gauge(t, h, "usher_delivery_breaker_state", sub.ID); v != 2 {
		t.Errorf("breaker gauge %v, want 2 (open)", v)
	}
	// Retries are due, the breaker is open: the lane sends nothing.
	n := rc.count()
	h.clock.Advance(2 * time.Second)
	time.Sleep(100 * time.Millisecond)
	if got := rc.count(); got != n {
		t.Fatalf("the lane sent %d requests with its breaker open", got-n)
	}
	// After its timeout the breaker lets one probe through; it fails and
	// the breaker opens again.
	rc.waitCount(t, n+1)
	eventually(t, "the breaker to reopen", func() bool { return h.svc.BreakerState(sub.ID) == "open" })
	if got := rc.count(); got != n+1 {
		t.Fatalf("half-open breaker let %d requests through, want 1 probe", got-n)
	}
	// The endpoint recovers: the next probe closes the breaker and the lane
	// delivers everything.
	failing.Store(false)
	h.clock.Advance(2 * time.Second)
	for _, ev := range evs {
		h.clock.Advance(2 * time.Second)
		h.waitDelivery(sub.ID, ev.ID, "delivered after recovery", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDelivered })
	}
	if s := h.svc.BreakerState(sub.ID); s != "closed" {
		t.Fatalf("breaker %s after recovery, want closed", s)
	}
}

func TestPrivateAddressRefusedWithoutOptIn(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.AllowPrivate = false })
	rc := newReceiver(t, nil)
	// Refused at creation when the URL names the address.
	_, _, _, err := h.svc.CreateSubscription(context.Background(), SubscriptionSpec{URL: rc.URL, EventTypes: []string{"*"}})
	if usher.ErrorCode(err) != usher.CodeAddressNotAllowed {
		t.Fatalf("create with %s: %v, want address_not_allowed", rc.URL, err)
	}
	// A name that resolved elsewhere when it was checked, or a stored
	// subscription: the guard refuses the dialled address.
	now := h.clock.Now()
	sub := usher.Subscription{ID: "sub_private", URL: rc.URL, EventTypes: []string{"*"}, Signing: SigningHMAC,
		Status: usher.SubscriptionActive, CreatedAt: now, UpdatedAt: now}
	key, _, _ := newKey(SigningHMAC, now)
	if err := h.db.CreateSubscription(context.Background(), sub, key); err != nil {
		t.Fatal(err)
	}
	ev := h.emit("ticket.issued", "ord_1")[0]
	d := h.waitDelivery(sub.ID, ev.ID, "refused", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDead })
	dl, _ := h.db.DeadLetterByID(context.Background(), deadLetterID(sub.ID, ev.ID))
	if dl.Reason != ReasonForbidden || d.Attempts != 1 {
		t.Fatalf("dead letter %+v, want reason %s after one attempt", dl, ReasonForbidden)
	}
	if n := rc.accepted.Load(); n != 0 {
		t.Fatalf("the private receiver accepted %d connections, want 0", n)
	}
	if rc.count() != 0 {
		t.Fatalf("the private receiver got %d requests", rc.count())
	}
}

func TestCreationRefusesBadURLs(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.AllowPrivate = false })
	optIn := setup(t)
	for _, tc := range []struct {
		url           string
		strict, optIn usher.Code
	}{
		{"https://hooks.example.com/usher", "", ""},
		{"http://93.184.215.14:8080/hook", "", ""},
		{"http://127.0.0.1:9/", usher.CodeAddressNotAllowed, ""},
		{"http://[::1]/", usher.CodeAddressNotAllowed, ""},
		{"http://10.1.2.3/", usher.CodeAddressNotAllowed, ""},
		{"http://100.64.0.1/", usher.CodeAddressNotAllowed, ""},
		{"http://[::ffff:127.0.0.1]/", usher.CodeAddressNotAllowed, ""},
		{"http://169.254.169.254/latest/meta-data/", usher.CodeAddressNotAllowed, usher.CodeAddressNotAllowed},
		{"http://[fd00:ec2::254]/", usher.CodeAddressNotAllowed, usher.CodeAddressNotAllowed},
		{"http://0.0.0.0/", usher.CodeAddressNotAllowed, usher.CodeAddressNotAllowed},
		{"http://localhost:8080/", usher.CodeAddressNotAllowed, ""},
		{"http://2130706433/", usher.CodeInvalid, usher.CodeInvalid},
		{"http://0x7f.1/", usher.CodeInvalid, usher.CodeInvalid},
		{"http://0177.0.0.1/", usher.CodeInvalid, usher.CodeInvalid},
		{"ftp://example.com/", usher.CodeInvalid, usher.CodeInvalid},
		{"https://user:pw@example.com/", usher.CodeInvalid, usher.CodeInvalid},
		{"/relative", usher.CodeInvalid, usher.CodeInvalid},
		{"https://example.com/#frag", usher.CodeInvalid, usher.CodeInvalid},
	} {
		for _, c := range []struct {
			h    *harness
			want usher.Code
		}{{h, tc.strict}, {optIn, tc.optIn}} {
			_, _, _, err := c.h.svc.CreateSubscription(context.Background(), SubscriptionSpec{URL: tc.url, EventTypes: []string{"ticket.issued"}})
			if got := usher.ErrorCode(err); got != c.want {
				t.Errorf("create %s (allow private %v): %v, want code %q", tc.url, c.h.svc.cfg.AllowPrivate, err, c.want)
			}
		}
	}
}

func TestOrderedWithinAnOrderParallelAcrossOrders(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.Concurrency = 3 })
	var mu sync.Mutex
	var inFlight, maxInFlight int
	perOrder := map[string][]string{}
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
	})
	sub, _ := h.subscribe(rc.URL)
	want := map[string][]string{}
	for range 5 {
		for _, ev := range h.emit("ticket.issued", "ord_a", "ord_b", "ord_c", "ord_d") {
			want[ev.OrderID] = append(want[ev.OrderID], ev.ID)
		}
	}
	reqs := rc.waitCount(t, 20)
	for _, r := range reqs {
		var body struct {
			Data struct {
				OrderID string `json:"order_id"`
			} `json:"data"`
		}
		_ = jsonUnmarshal(r.Body, &body)
		perOrder[body.Data.OrderID] = append(perOrder[body.Data.OrderID], r.ID)
	}
	for o, ids := range want {
		if !slices.Equal(perOrder[o], ids) {
			t.Errorf("order %s arrived as %v, want %v", o, perOrder[o], ids)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if maxInFlight < 2 || maxInFlight > 3 {
		t.Errorf("at most %d requests in flight, want 2 or 3 (parallel across orders, limit 3)", maxInFlight)
	}
	_ = sub
}

func TestKillMidDeliveryLosesNothing(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.Concurrency = 4 })
	var mu sync.Mutex
	seen := map[string]int{}
	var hold atomic.Bool
	hold.Store(true)
	unblock := make(chan struct{})
	var held atomic.Int64
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(headerID)
		if hold.Load() && n > 10 {
			held.Add(1)
			select { // in flight when the process dies
			case <-unblock:
			case <-r.Context().Done():
			}
			return
		}
		mu.Lock()
		seen[id]++
		mu.Unlock()
	})
	t.Cleanup(func() { close(unblock) })
	sub, _ := h.subscribe(rc.URL)
	var orders []string
	for i := range 60 {
		orders = append(orders, "ord_"+strconv.Itoa(i%12))
	}
	evs := h.emit("ticket.issued", orders...)
	eventually(t, "attempts in flight", func() bool { return held.Load() >= 4 })

	// The crash: the store goes away under the lanes (nothing more is
	// recorded), then the lanes stop without draining.
	if err := h.db.Close(); err != nil {
		t.Fatal(err)
	}
	h.svc.Stop()
	hold.Store(false)

	// A new process on the same store, once the leases of the interrupted
	// attempts have passed.
	h.db = openStore(t, h.path)
	t.Cleanup(func() { _ = h.db.Close() })
	h.clock.Advance(h.svc.cfg.Lease + time.Second)
	h.start(func(c *Config) { c.Concurrency = 4 })
	for _, ev := range evs {
		h.waitDelivery(sub.ID, ev.ID, "delivery after the restart", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDelivered })
	}
	mu.Lock()
	defer mu.Unlock()
	var missing []string
	for _, ev := range evs {
		if seen[ev.ID] == 0 {
			missing = append(missing, ev.ID)
		}
	}
	if len(missing) > 0 || len(seen) != len(evs) {
		t.Fatalf("receiver saw %d distinct events of %d; missing %v", len(seen), len(evs), missing)
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("%d events delivered, %d duplicate deliveries (at least once; receivers dedupe on webhook-id)", len(evs), dups)
}

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New("bad json: " + err.Error())
	}
	return nil
}
