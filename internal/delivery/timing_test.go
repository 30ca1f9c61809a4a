package delivery

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/usherhq/usher"
)

func TestRetryAfterATimeoutIsScheduledFromItsEnd(t *testing.T) {
	t.Parallel()
	const spent = 15 * time.Second // by the clock, before the attempt times out
	h := setup(t, func(c *Config) {
		c.RetrySchedule = []time.Duration{5 * time.Second, time.Hour}
		c.ConnectTimeout, c.Timeout = 300*time.Millisecond, 300*time.Millisecond
		c.Lease = time.Minute // the clock jumps past a shorter one before a renewal could run
	})
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			h.clock.Advance(spent)
			<-r.Context().Done() // no answer: the attempt times out
		}
	})
	sub, _ := h.subscribe(rc.URL)
	ev := h.emit("ticket.issued", "ord_1")[0]
	d := h.waitDelivery(sub.ID, ev.ID, "a retry", func(d usher.Delivery) bool { return d.WindowAttempts == 1 })
	a := h.attempts(sub.ID, ev.ID)[0]
	if !strings.HasPrefix(a.Error, "timeout") {
		t.Fatalf("first attempt error %q, want a timeout", a.Error)
	}
	end := a.At.Add(spent)
	if wait := d.NextAttemptAt.Sub(end); wait < 4*time.Second || wait > 6*time.Second {
		t.Fatalf("next attempt %s after the timed-out attempt ended (%s after it started), want 5s ±20%%",
			wait, d.NextAttemptAt.Sub(a.At))
	}
	quiet(t, rc, 1, "the moment the timed-out attempt ended")
	h.clock.Set(d.NextAttemptAt)
	rc.waitCount(t, 2)
}

func TestRetryAfterIsHonouredWithinTheWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, retryAfter string
		schedule         []time.Duration
		want             time.Duration
	}{
		{"longer than the step", "15", []time.Duration{10 * time.Second, time.Minute}, 15 * time.Second},
		{"three times the step", "3", []time.Duration{time.Second, time.Minute}, 3 * time.Second},
		{"past the window: up to its end", "100", []time.Duration{10 * time.Second, time.Minute}, 70 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t, func(c *Config) { c.RetrySchedule = tc.schedule })
			rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", tc.retryAfter)
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			})
			sub, _ := h.subscribe(rc.URL)
			ev := h.emit("ticket.issued", "ord_1")[0]
			d := h.waitDelivery(sub.ID, ev.ID, "a retry", func(d usher.Delivery) bool { return d.WindowAttempts == 1 })
			at := h.attempts(sub.ID, ev.ID)[0].At
			if got := d.NextAttemptAt.Sub(at); got != tc.want {
				t.Fatalf("Retry-After %s on the schedule %v: next attempt in %s, want %s", tc.retryAfter, tc.schedule, got, tc.want)
			}
			h.clock.Set(d.NextAttemptAt.Add(-time.Millisecond))
			quiet(t, rc, 1, "a millisecond before the receiver's Retry-After")
			h.clock.Set(d.NextAttemptAt)
			rc.waitCount(t, 2)
			h.waitDelivery(sub.ID, ev.ID, "delivered", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDelivered })
		})
	}
}

// crash stops h's Service the way kill -9 would: the store goes away
// under the lanes, so nothing is settled or released, then they stop.
// It reopens the store for the next run.
func (h *harness) crash() {
	h.t.Helper()
	if err := h.db.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.svc.Stop()
	h.db = openStore(h.t, h.path)
	db := h.db
	h.t.Cleanup(func() { _ = db.Close() })
}

// holdFirst answers 200, except that the first request of each event is
// held until the client gives up.
func holdFirst(held *atomic.Int64, hold *atomic.Bool) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, _ http.ResponseWriter, r *http.Request) {
		if hold.Load() {
			held.Add(1)
			<-r.Context().Done()
		}
	}
}

func TestRestartResendsInFlightDeliveriesAtOnce(t *testing.T) {
	t.Parallel()
	h := setupAs(t, "node1")
	var held atomic.Int64
	var hold atomic.Bool
	hold.Store(true)
	rc := newReceiver(t, holdFirst(&held, &hold))
	sub, _ := h.subscribe(rc.URL)
	evs := h.emit("ticket.issued", "ord_1", "ord_2", "ord_3")
	eventually(t, "three attempts in flight", func() bool { return held.Load() == 3 })
	h.crash()
	hold.Store(false)
	for _, ev := range evs {
		if d := h.delivery(sub.ID, ev.ID); d.LeaseToken == "" {
			t.Fatalf("delivery of %s after the crash: no lease, want the dead run's", ev.ID)
		}
	}

	// The same instance again, with the clock where the crash left it: the
	// dead run's leases are not waited out.
	h.start()
	for _, ev := range evs {
		h.waitDelivery(sub.ID, ev.ID, "delivery after the restart", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDelivered })
	}
	if got := rc.count(); got != 6 {
		t.Fatalf("%d requests, want 3 interrupted and 3 resent", got)
	}
}

func TestAnotherInstanceWaitsOutTheLease(t *testing.T) {
	t.Parallel()
	h := setupAs(t, "node1")
	var held atomic.Int64
	var hold atomic.Bool
	hold.Store(true)
	rc := newReceiver(t, holdFirst(&held, &hold))
	sub, _ := h.subscribe(rc.URL)
	ev := h.emit("ticket.issued", "ord_1")[0]
	eventually(t, "the attempt in flight", func() bool { return held.Load() == 1 })
	h.crash()
	hold.Store(false)

	// Another process may be alive and still attempting: its lease holds.
	h.instance = "node2"
	h.start()
	h.clock.Advance(h.svc.cfg.Lease - time.Second)
	quiet(t, rc, 1, "another instance, before the lease passed")
	h.clock.Advance(2 * time.Second)
	h.waitDelivery(sub.ID, ev.ID, "delivery once the lease passed", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDelivered })
}

// TestLeaseIsRenewedWhileTheAttemptRuns runs two instances on one store by
// the wall clock, with a lease far shorter than an attempt that hangs: the
// second never takes the delivery while the first still attempts it.
func TestLeaseIsRenewedWhileTheAttemptRuns(t *testing.T) {
	t.Parallel()
	const lease, hang = 3 * time.Second, 8 * time.Second
	h := setup(t)
	h.svc.Stop() // its clock stands still; these two run by the wall clock
	var requests atomic.Int64
	release := make(chan struct{})
	rc := newReceiver(t, func(n int, _ http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	cfg := testConfig()
	cfg.Lease, cfg.Timeout = lease, time.Minute
	for i := range 2 {
		svc, err := New(bound(h.db), cfg, Options{Logger: testLogger(t), Registerer: prometheus.NewRegistry(), Instance: "wall" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Stop)
		h.svc = svc
	}
	sub, _ := h.subscribe(rc.URL)
	ev := h.emit("ticket.issued", "ord_1")[0]
	eventually(t, "the attempt in flight", func() bool { return requests.Load() == 1 })
	time.Sleep(hang)
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests while the first attempt ran for %s on a %s lease, want 1", n, hang, lease)
	}
	close(release)
	h.waitDelivery(sub.ID, ev.ID, "delivered", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDelivered })
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}
