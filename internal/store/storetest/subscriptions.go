package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

// testSubscription returns an active subscription to ticket events.
func testSubscription(id string) usher.Subscription {
	now := time.Now().UTC()
	return usher.Subscription{
		ID: id, URL: "https://example.com/hooks/" + id, EventTypes: []string{"ticket.issued", "order.*"},
		VenueIDs: []string{"venue_1"}, Description: "wallet passes", Signing: "hmac",
		RetrySchedule: []time.Duration{5 * time.Second, 5 * time.Minute}, PII: true, EventVersion: "2026-06-01",
		Status: usher.SubscriptionActive, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
}

func testKey(id string, at time.Time) usher.SubscriptionKey {
	return usher.SubscriptionKey{ID: id, Algorithm: "hmac", Secret: []byte("0123456789abcdef0123456789abcdef"), CreatedAt: at}
}

func createSubscription(t *testing.T, db *store.DB, id string) usher.Subscription {
	t.Helper()
	s := testSubscription(id)
	if err := db.CreateSubscription(t.Context(), s, testKey("key_"+id, s.CreatedAt)); err != nil {
		t.Fatalf("CreateSubscription(%s): %v", id, err)
	}
	return s
}

// subscriptionTests cover subscriptions and their signing keys; they run in
// the Delivery group (see deliveryTests).
var subscriptionTests = []subtest{
	{"SubscriptionRoundTrip", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		want := createSubscription(t, db, "sub_a")
		got, err := db.Subscription(ctx, "sub_a")
		if err != nil {
			t.Fatalf("Subscription: %v", err)
		}
		want.CreatedAt, want.UpdatedAt = micro(want.CreatedAt), micro(want.UpdatedAt)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Subscription = %+v\nwant %+v", got, want)
		}
		createSubscription(t, db, "sub_b")
		all, err := db.Subscriptions(ctx)
		if err != nil || len(all) != 2 {
			t.Fatalf("Subscriptions = %+v, %v; want 2", all, err)
		}
		err = db.CreateSubscription(ctx, testSubscription("sub_a"), testKey("key_other", time.Now()))
		wantCode(t, "CreateSubscription with a taken id", err, usher.CodeConflict)
		_, err = db.Subscription(ctx, "sub_none")
		wantCode(t, "Subscription(missing)", err, usher.CodeNotFound)
	}},
	{"SubscriptionDefaultsRoundTrip", func(t *testing.T, db *store.DB) {
		s := testSubscription("sub_a")
		s.VenueIDs, s.RetrySchedule, s.PII = nil, nil, false
		if err := db.CreateSubscription(t.Context(), s, testKey("key_a", s.CreatedAt)); err != nil {
			t.Fatal(err)
		}
		got, err := db.Subscription(t.Context(), "sub_a")
		if err != nil || len(got.VenueIDs) != 0 || got.RetrySchedule != nil || got.PII {
			t.Fatalf("Subscription = %+v, %v; want no venues, the global schedule and no pii", got, err)
		}
	}},
	{"UpdateSubscriptionComparesVersion", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		s := createSubscription(t, db, "sub_a")
		s.URL, s.Status = "https://example.com/new", usher.SubscriptionPaused
		mustTx(t, db, func(tx *store.Tx) error { return tx.UpdateSubscription(ctx, s) })
		got, _ := db.Subscription(ctx, "sub_a")
		if got.URL != s.URL || got.Status != usher.SubscriptionPaused || got.Version != 2 {
			t.Fatalf("after update: %+v, want the new url, paused, version 2", got)
		}
		err := tryTx(t, db, func(tx *store.Tx) error { return tx.UpdateSubscription(ctx, s) }) // still at version 1
		wantConflict(t, "UpdateSubscription at a stale version", err)
	}},
	{"FailingClockAndDisable", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		createSubscription(t, db, "sub_a")
		first := time.Now().Add(-time.Hour)
		mustTx(t, db, func(tx *store.Tx) error { return tx.MarkSubscriptionFailing(ctx, "sub_a", first) })
		mustTx(t, db, func(tx *store.Tx) error { return tx.MarkSubscriptionFailing(ctx, "sub_a", time.Now()) })
		got, _ := db.Subscription(ctx, "sub_a")
		if !got.FailingSince.Equal(micro(first)) {
			t.Fatalf("FailingSince = %v, want the first mark %v", got.FailingSince, micro(first))
		}
		mustTx(t, db, func(tx *store.Tx) error { return tx.ClearSubscriptionFailing(ctx, "sub_a") })
		if got, _ = db.Subscription(ctx, "sub_a"); !got.FailingSince.IsZero() {
			t.Fatalf("FailingSince after clear = %v, want zero", got.FailingSince)
		}
		for i, want := range []bool{true, false} {
			var changed bool
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				changed, err = tx.DisableSubscription(ctx, "sub_a", "gone")
				return err
			})
			if changed != want {
				t.Fatalf("DisableSubscription call %d = %v, want %v", i+1, changed, want)
			}
		}
		got, _ = db.Subscription(ctx, "sub_a")
		if got.Status != usher.SubscriptionDisabled || got.DisabledReason != "gone" || got.Version != 2 {
			t.Fatalf("after disable: %+v", got)
		}
	}},
	{"KeysRotateAndDeleteCascades", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		createSubscription(t, db, "sub_a")
		now := time.Now()
		grace := now.Add(time.Hour)
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.ExpireSubscriptionKeys(ctx, "sub_a", grace, now); err != nil {
				return err
			}
			return tx.AddSubscriptionKey(ctx, usher.SubscriptionKey{ID: "key_2", SubscriptionID: "sub_a", Algorithm: "ed25519",
				Secret: []byte("seed"), PublicKey: []byte("pub"), CreatedAt: now.Add(time.Second)})
		})
		keys, err := db.SubscriptionKeys(ctx, "sub_a")
		if err != nil || len(keys) != 2 {
			t.Fatalf("SubscriptionKeys = %+v, %v; want 2", keys, err)
		}
		if keys[0].ID != "key_2" || !keys[0].ExpiresAt.IsZero() || string(keys[0].PublicKey) != "pub" {
			t.Errorf("newest key = %+v, want key_2, current, with its public key", keys[0])
		}
		if keys[1].ID != "key_sub_a" || !keys[1].ExpiresAt.Equal(micro(grace)) || string(keys[1].Secret) != "0123456789abcdef0123456789abcdef" {
			t.Errorf("old key = %+v, want key_sub_a expiring at %v", keys[1], micro(grace))
		}
		// A second rotation after the grace window prunes the expired key.
		later := grace.Add(time.Minute)
		mustTx(t, db, func(tx *store.Tx) error { return tx.ExpireSubscriptionKeys(ctx, "sub_a", later, later) })
		if keys, _ = db.SubscriptionKeys(ctx, "sub_a"); len(keys) != 1 || keys[0].ID != "key_2" {
			t.Fatalf("keys after a second rotation = %+v, want key_2 alone", keys)
		}
		evs := appendEvents(t, db, "ord_1")
		enqueue(t, db, "sub_a", now, evs...)
		if err := db.DeleteSubscription(ctx, "sub_a"); err != nil {
			t.Fatalf("DeleteSubscription: %v", err)
		}
		if keys, _ = db.SubscriptionKeys(ctx, "sub_a"); len(keys) != 0 {
			t.Errorf("keys after delete = %+v, want none", keys)
		}
		_, err = db.Delivery(ctx, "sub_a", evs[0].ID)
		wantCode(t, "Delivery after delete", err, usher.CodeNotFound)
		wantCode(t, "DeleteSubscription twice", db.DeleteSubscription(ctx, "sub_a"), usher.CodeNotFound)
	}},
	{"KeysAreSealedWithTheStoreSealer", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		db.SetSealer(prefixSealer{})
		want := testKey("key_a", time.Now()).Secret
		createSubscription(t, db, "sub_a")
		keys, err := db.SubscriptionKeys(ctx, "sub_a")
		if err != nil || len(keys) != 1 || !bytes.Equal(keys[0].Secret, want) {
			t.Fatalf("SubscriptionKeys with the sealer = %+v, %v; want the secret back", keys, err)
		}
		db.SetSealer(nil)
		raw, err := db.SubscriptionKeys(ctx, "sub_a")
		if err != nil || len(raw) != 1 || bytes.Equal(raw[0].Secret, want) || !bytes.HasPrefix(raw[0].Secret, []byte("sealed|subscription/sub_a/key_sub_a|")) {
			t.Fatalf("stored secret = %q, %v; want it sealed for its row", raw[0].Secret, err)
		}
	}},
}
