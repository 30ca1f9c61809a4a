package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

// appendEvents writes outbound events (order id, or "" for none) and
// returns them as stored, with their seqs.
func appendEvents(t *testing.T, db *store.DB, orders ...string) []usher.OutboundEvent {
	t.Helper()
	before, err := db.OutboxAfter(t.Context(), 0, 100000)
	if err != nil {
		t.Fatalf("OutboxAfter: %v", err)
	}
	mustTx(t, db, func(tx *store.Tx) error {
		for _, o := range orders {
			id := uniq("evt")
			if err := tx.AppendOutbox(t.Context(), usher.OutboundEvent{ID: id, Type: "ticket.issued", OrderID: o, VenueID: "venue_1",
				Data: json.RawMessage(`{"event":"` + id + `"}`)}); err != nil {
				return err
			}
		}
		return nil
	})
	after, err := db.OutboxAfter(t.Context(), 0, 100000)
	if err != nil {
		t.Fatalf("OutboxAfter: %v", err)
	}
	return after[len(before):]
}

// enqueue records a due delivery of each event for the subscription.
func enqueue(t *testing.T, db *store.DB, sub string, at time.Time, evs ...usher.OutboundEvent) {
	t.Helper()
	mustTx(t, db, func(tx *store.Tx) error {
		for _, ev := range evs {
			if _, err := tx.EnqueueDelivery(t.Context(), deliveryFor(sub, ev, at)); err != nil {
				return err
			}
		}
		return nil
	})
}

func deliveryFor(sub string, ev usher.OutboundEvent, at time.Time) usher.Delivery {
	return usher.Delivery{SubscriptionID: sub, EventID: ev.ID, EventSeq: ev.Seq, Type: ev.Type, OrderID: ev.OrderID, VenueID: ev.VenueID, NextAttemptAt: at}
}

func claim(t *testing.T, db *store.DB, sub string, now time.Time, limit int) []usher.Delivery {
	t.Helper()
	ds, err := db.ClaimDeliveries(t.Context(), sub, now, now.Add(time.Minute), uniq("tok"), limit)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	return ds
}

func eventIDs(ds []usher.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.EventID
	}
	slices.Sort(out)
	return out
}

func ids(evs ...usher.OutboundEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	slices.Sort(out)
	return out
}

// settle records the outcome of a claimed delivery.
func settle(t *testing.T, db *store.DB, d usher.Delivery, status string, next time.Time) error {
	t.Helper()
	d.Status, d.Attempts, d.WindowAttempts, d.NextAttemptAt = status, d.Attempts+1, d.WindowAttempts+1, next
	return db.InTx(t.Context(), func(tx *store.Tx) error { return tx.SettleDelivery(t.Context(), d) })
}

func dlqEntry(id, stage, sub, typ, reason string) usher.DeadLetter {
	return usher.DeadLetter{ID: id, Stage: stage, SubscriptionID: sub, EventID: "evt_" + id, Type: typ, VenueID: "venue_1",
		Reason: reason, Attempts: 3, FirstError: "http 500", LastError: "http 503", Payload: json.RawMessage(`{"n":1}`)}
}

// prefixSealer "seals" by prefixing the context and reversing the bytes:
// enough to tell a sealed value from the plaintext and to check the context.
type prefixSealer struct{}

func (prefixSealer) Seal(p []byte, context string) ([]byte, error) {
	return append([]byte("sealed|"+context+"|"), reversed(p)...), nil
}

func (prefixSealer) Open(s []byte, context string) ([]byte, error) {
	rest, ok := bytes.CutPrefix(s, []byte("sealed|"+context+"|"))
	if !ok {
		return nil, errors.New("not sealed for " + context)
	}
	return reversed(rest), nil
}

func reversed(b []byte) []byte {
	out := slices.Clone(b)
	slices.Reverse(out)
	return out
}

// deliveryTests cover the delivery lanes' tables (subscriptions, keys,
// deliveries, attempts, the dispatcher cursor) and the dead-letter search,
// in this order.
var deliveryTests = slices.Concat(subscriptionTests, laneTests, deadLetterSearchTests, versionNoticeTests)

// laneTests cover deliveries, their leases and attempts, the dispatcher
// cursor and the outbox lookups.
var laneTests = []subtest{
	{"EnqueueIsIdempotent", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		evs := appendEvents(t, db, "ord_1")
		now := time.Now()
		for i, want := range []bool{true, false} {
			added := txValue(t, db, func(tx *store.Tx) (bool, error) { return tx.EnqueueDelivery(ctx, deliveryFor("sub_a", evs[0], now)) })
			if added != want {
				t.Fatalf("EnqueueDelivery call %d = %v, want %v", i+1, added, want)
			}
		}
		enqueue(t, db, "sub_b", now, evs...)
		for _, sub := range []string{"sub_a", "sub_b"} {
			d, err := db.Delivery(ctx, sub, evs[0].ID)
			if err != nil || d.Status != usher.DeliveryPending || d.EventSeq != evs[0].Seq || d.OrderID != "ord_1" || !d.NextAttemptAt.Equal(micro(now)) {
				t.Fatalf("Delivery(%s) = %+v, %v; want pending, due now", sub, d, err)
			}
		}
		counts, err := db.PendingDeliveries(ctx)
		if err != nil || counts["sub_a"] != 1 || counts["sub_b"] != 1 {
			t.Fatalf("PendingDeliveries = %v, %v; want 1 each", counts, err)
		}
	}},
	{"ClaimTakesTheHeadOfEachOrder", func(t *testing.T, db *store.DB) {
		now := time.Now()
		evs := appendEvents(t, db, "ord_a", "ord_b", "ord_a", "", "ord_b", "ord_a", "")
		a1, b1, a2, n1, b2, a3, n2 := evs[0], evs[1], evs[2], evs[3], evs[4], evs[5], evs[6]
		enqueue(t, db, "sub_a", now, evs...)
		enqueue(t, db, "sub_other", now, evs...)
		got := claim(t, db, "sub_a", now, 10)
		if w := ids(a1, b1, n1, n2); !slices.Equal(eventIDs(got), w) {
			t.Fatalf("first claim = %v, want the head of each order and the events of no order %v", eventIDs(got), w)
		}
		for _, d := range got {
			if len(d.Data) == 0 || d.EventTime.IsZero() || d.LeaseToken == "" {
				t.Fatalf("claimed delivery without its event or token: %+v", d)
			}
		}
		if again := claim(t, db, "sub_a", now, 10); len(again) != 0 {
			t.Fatalf("second claim while the heads are leased = %v, want none", eventIDs(again))
		}
		// a1 delivered: a2 is the new head. b1 retried later: b2 waits behind it.
		byID := map[string]usher.Delivery{}
		for _, d := range got {
			byID[d.EventID] = d
		}
		if err := settle(t, db, byID[a1.ID], usher.DeliveryDelivered, now); err != nil {
			t.Fatal(err)
		}
		if err := settle(t, db, byID[b1.ID], usher.DeliveryPending, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		next := claim(t, db, "sub_a", now, 10)
		if !slices.Equal(eventIDs(next), ids(a2)) {
			t.Fatalf("claim after a1 delivered and b1 deferred = %v, want a2 alone", eventIDs(next))
		}
		for _, d := range []usher.Delivery{next[0], byID[n1.ID], byID[n2.ID]} {
			if err := settle(t, db, d, usher.DeliveryDelivered, now); err != nil {
				t.Fatal(err)
			}
		}
		if later := claim(t, db, "sub_a", now.Add(2*time.Hour), 10); !slices.Equal(eventIDs(later), ids(b1, a3)) {
			t.Fatalf("claim once b1 is due = %v, want b1 and a3, not b2 (behind b1)", eventIDs(later))
		}
		if d, _ := db.Delivery(t.Context(), "sub_a", b2.ID); d.Status != usher.DeliveryPending || d.LeaseToken != "" {
			t.Fatalf("b2 = %+v, want pending and never claimed", d)
		}
		// A limit of 1 takes the earliest due.
		if one := claim(t, db, "sub_other", now, 1); !slices.Equal(eventIDs(one), ids(a1)) {
			t.Fatalf("claim with limit 1 = %v, want a1", eventIDs(one))
		}
	}},
	{"LeaseExpiresAndOldClaimLosesIt", func(t *testing.T, db *store.DB) {
		now := time.Now()
		evs := appendEvents(t, db, "ord_a")
		enqueue(t, db, "sub_a", now, evs...)
		first := claim(t, db, "sub_a", now, 1) // leased for a minute
		if len(first) != 1 {
			t.Fatalf("claim = %d deliveries, want 1", len(first))
		}
		if again := claim(t, db, "sub_a", now.Add(30*time.Second), 1); len(again) != 0 {
			t.Fatal("a leased delivery was claimed again before its lease passed")
		}
		second := claim(t, db, "sub_a", now.Add(2*time.Minute), 1)
		if len(second) != 1 || second[0].LeaseToken == first[0].LeaseToken {
			t.Fatalf("claim after the lease passed = %+v, want the delivery under a new token", second)
		}
		if err := settle(t, db, first[0], usher.DeliveryDelivered, now); !errors.Is(err, usher.ErrLeaseLost) {
			t.Fatalf("settle under the old token = %v, want ErrLeaseLost", err)
		}
		if err := settle(t, db, second[0], usher.DeliveryDelivered, now); err != nil {
			t.Fatalf("settle under the new token: %v", err)
		}
		d, _ := db.Delivery(t.Context(), "sub_a", evs[0].ID)
		if d.Status != usher.DeliveryDelivered || d.Attempts != 1 || d.LeaseToken != "" {
			t.Fatalf("delivery = %+v, want delivered after 1 attempt, lease ended", d)
		}
	}},
	{"ReleaseMakesClaimableAtOnce", func(t *testing.T, db *store.DB) {
		now := time.Now()
		enqueue(t, db, "sub_a", now, appendEvents(t, db, "ord_a")...)
		got := claim(t, db, "sub_a", now, 1)
		if err := db.ReleaseDelivery(t.Context(), got[0].ID, got[0].LeaseToken); err != nil {
			t.Fatal(err)
		}
		if again := claim(t, db, "sub_a", now, 1); len(again) != 1 {
			t.Fatal("a released delivery is not claimable")
		}
	}},
	{"ConcurrentClaimsTakeEachOnce", func(t *testing.T, db *store.DB) {
		now := time.Now()
		orders := make([]string, 40)
		for i := range orders {
			orders[i] = fmt.Sprintf("ord_%d", i)
		}
		evs := appendEvents(t, db, orders...)
		enqueue(t, db, "sub_a", now, evs...)
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					ds, err := db.ClaimDeliveries(t.Context(), "sub_a", now, now.Add(time.Minute), uniq("tok"), 3)
					if err != nil {
						t.Errorf("ClaimDeliveries: %v", err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for _, d := range ds {
						seen[d.EventID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != len(evs) {
			t.Fatalf("claimed %d distinct deliveries, want %d", len(seen), len(evs))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("delivery of %s claimed %d times", id, n)
			}
		}
	}},
	{"RequeueForReplay", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Now()
		evs := appendEvents(t, db, "ord_a", "ord_b")
		enqueue(t, db, "sub_a", now, evs[0])
		got := claim(t, db, "sub_a", now, 1)
		if err := settle(t, db, got[0], usher.DeliveryDead, now); err != nil {
			t.Fatal(err)
		}
		later := now.Add(time.Hour)
		requeue := func(ev usher.OutboundEvent) bool {
			return txValue(t, db, func(tx *store.Tx) (bool, error) { return tx.RequeueDelivery(ctx, deliveryFor("sub_a", ev, later)) })
		}
		if !requeue(evs[0]) {
			t.Fatal("RequeueDelivery of a dead delivery changed nothing")
		}
		d, _ := db.Delivery(ctx, "sub_a", evs[0].ID)
		if d.Status != usher.DeliveryPending || d.WindowAttempts != 0 || d.Attempts != 1 || !d.WindowStart.Equal(micro(later)) || !d.NextAttemptAt.Equal(micro(later)) {
			t.Fatalf("requeued delivery = %+v, want pending in a new window from %v, attempts kept", d, micro(later))
		}
		if requeue(evs[0]) {
			t.Fatal("RequeueDelivery of a pending delivery changed it")
		}
		if !requeue(evs[1]) {
			t.Fatal("RequeueDelivery of a missing delivery did not record it")
		}
		if d, err := db.Delivery(ctx, "sub_a", evs[1].ID); err != nil || d.Status != usher.DeliveryPending || d.OrderID != "ord_b" {
			t.Fatalf("recorded by requeue: %+v, %v", d, err)
		}
	}},
	{"AttemptsNewestFirstWithPaging", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		at := time.Now()
		mustTx(t, db, func(tx *store.Tx) error {
			for i := range 5 {
				ev := "evt_x"
				if i%2 == 1 {
					ev = "evt_y"
				}
				if err := tx.InsertDeliveryAttempt(ctx, usher.DeliveryAttempt{DeliveryID: 7, SubscriptionID: "sub_a", EventID: ev,
					Attempt: i + 1, StatusCode: 500 + i, LatencyMS: int64(10 * i), Error: "http 5xx", At: at}); err != nil {
					return err
				}
			}
			return tx.InsertDeliveryAttempt(ctx, usher.DeliveryAttempt{SubscriptionID: "sub_b", EventID: "evt_x", At: at})
		})
		all, err := db.DeliveryAttempts(ctx, usher.AttemptFilter{SubscriptionID: "sub_a", Limit: 10})
		if err != nil || len(all) != 5 {
			t.Fatalf("DeliveryAttempts = %d, %v; want 5", len(all), err)
		}
		if all[0].Attempt != 5 || all[0].StatusCode != 504 || all[0].LatencyMS != 40 || !all[0].At.Equal(micro(at)) {
			t.Errorf("newest attempt = %+v", all[0])
		}
		page, _ := db.DeliveryAttempts(ctx, usher.AttemptFilter{SubscriptionID: "sub_a", Before: all[1].ID, Limit: 2})
		if len(page) != 2 || page[0].ID != all[2].ID {
			t.Errorf("page before %d = %+v, want attempts 3 and 2", all[1].ID, page)
		}
		ys, _ := db.DeliveryAttempts(ctx, usher.AttemptFilter{SubscriptionID: "sub_a", EventID: "evt_y", Limit: 10})
		if len(ys) != 2 {
			t.Errorf("attempts of evt_y = %+v, want 2", ys)
		}
	}},
	{"DueSubscriptionsAndPrune", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Now()
		createSubscription(t, db, "sub_now")
		createSubscription(t, db, "sub_later")
		evs := appendEvents(t, db, "ord_a", "ord_b")
		enqueue(t, db, "sub_now", now, evs[0])
		enqueue(t, db, "sub_later", now.Add(time.Hour), evs[1])
		due, err := db.DueSubscriptions(ctx, now)
		if err != nil || !slices.Equal(due, []string{"sub_now"}) {
			t.Fatalf("DueSubscriptions = %v, %v; want [sub_now]", due, err)
		}
		d := claim(t, db, "sub_now", now, 1)[0]
		if due, _ = db.DueSubscriptions(ctx, now); len(due) != 0 {
			t.Fatalf("DueSubscriptions with the delivery leased = %v, want none", due)
		}
		if err := settle(t, db, d, usher.DeliveryDelivered, now); err != nil {
			t.Fatal(err)
		}
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.InsertDeliveryAttempt(ctx, usher.DeliveryAttempt{DeliveryID: d.ID, SubscriptionID: "sub_now", EventID: d.EventID, At: now.Add(-time.Minute)})
		})
		n, err := db.PruneDeliveries(ctx, time.Now().Add(time.Minute), 100)
		if err != nil || n != 2 {
			t.Fatalf("PruneDeliveries = %d, %v; want the delivered delivery and its attempt", n, err)
		}
		if _, err := db.Delivery(ctx, "sub_later", evs[1].ID); err != nil {
			t.Fatalf("a pending delivery was pruned: %v", err)
		}
	}},
	{"CursorOnlyMovesForward", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if seq, err := db.DeliveryCursor(ctx, "outbox"); err != nil || seq != 0 {
			t.Fatalf("DeliveryCursor before any pass = %d, %v; want 0", seq, err)
		}
		for _, to := range []int64{5, 3} {
			mustTx(t, db, func(tx *store.Tx) error { return tx.AdvanceDeliveryCursor(ctx, "outbox", to) })
		}
		if seq, _ := db.DeliveryCursor(ctx, "outbox"); seq != 5 {
			t.Fatalf("cursor = %d, want 5", seq)
		}
	}},
	{"OutboxLookups", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		evs := appendEvents(t, db, "ord_a", "ord_b", "ord_c")
		got, err := db.OutboxBySeq(ctx, []int64{evs[2].Seq, evs[0].Seq, evs[2].Seq + 100})
		if err != nil || !slices.Equal(ids(got...), ids(evs[0], evs[2])) {
			t.Fatalf("OutboxBySeq = %v, %v", ids(got...), err)
		}
		since, err := db.OutboxSince(ctx, evs[0].CreatedAt, evs[0].Seq, 10)
		if err != nil || !slices.Equal(ids(since...), ids(evs[1], evs[2])) {
			t.Fatalf("OutboxSince = %v, %v", ids(since...), err)
		}
		if later, _ := db.OutboxSince(ctx, evs[2].CreatedAt.Add(time.Hour), 0, 10); len(later) != 0 {
			t.Fatalf("OutboxSince the future = %v", ids(later...))
		}
		one, err := db.OutboxEvent(ctx, evs[1].ID)
		if err != nil || one.Seq != evs[1].Seq || string(one.Data) != string(evs[1].Data) {
			t.Fatalf("OutboxEvent = %+v, %v", one, err)
		}
		_, err = db.OutboxEvent(ctx, "evt_none")
		wantCode(t, "OutboxEvent(missing)", err, usher.CodeNotFound)
	}},
}
