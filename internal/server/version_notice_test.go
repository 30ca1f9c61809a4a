package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/ushertest"
)

// versionNotice is the data of a subscription.version_deprecated delivery.
type versionNotice struct {
	SubscriptionID string `json:"subscription_id"`
	Version        string `json:"version"`
	Sunset         string `json:"sunset"`
	CurrentVersion string `json:"current_version"`
	Cause          string `json:"cause"`
}

// TestDeprecatedVersionRaisesOneOperatorEvent: an operators' subscription
// to subscription.* receives one subscription.version_deprecated event per
// subscription and version, on contract (the receiver checks every body
// against its schema): when a subscription is created on 2026-06-01, when
// one is changed to it, and for a subscription already on it that had no
// event yet (written as an older release would have) at the next start.
// Changing away and back, other changes and restarts raise nothing more.
func TestDeprecatedVersionRaisesOneOperatorEvent(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	ops, sink := newDLVReceiver(t, nil), newDLVReceiver(t, nil)
	subscribe(t, s, map[string]any{"url": ops.URL, "event_types": []string{"subscription.*"}})

	created := subscribe(t, s, map[string]any{"url": sink.URL, "event_types": []string{"order.confirmed"}, "version": events.V20260601})
	waitNotices(t, ops, 1)
	for _, v := range []string{events.V20261201, events.V20260601} {
		patchSubscription(t, s, created.ID, map[string]any{"version": v})
	}
	patchSubscription(t, s, created.ID, map[string]any{"description": "still on the old shape"})
	updated := subscribe(t, s, map[string]any{"url": sink.URL, "event_types": []string{"order.confirmed"}})
	patchSubscription(t, s, updated.ID, map[string]any{"version": events.V20260601})
	waitNotices(t, ops, 2)

	// Each sweep at start handles the subscriptions in creation order; one
	// written last, with no event yet, marks the end of the sweep.
	for i, id := range []string{"sub_before_upgrade_1", "sub_before_upgrade_2"} {
		storeOldSubscription(t, s, id, sink.URL)
		s.Restart()
		waitNotices(t, ops, 3+i)
	}

	want := map[string]string{created.ID: "created", updated.ID: "updated", "sub_before_upgrade_1": "deprecated", "sub_before_upgrade_2": "deprecated"}
	got := waitNotices(t, ops, len(want))
	if len(got) != len(want) {
		t.Errorf("got %d subscription.version_deprecated deliveries, want %d: %+v", len(got), len(want), got)
	}
	for _, n := range got {
		if want[n.SubscriptionID] != n.Cause || n.Version != events.V20260601 || n.Sunset != "2027-06-01" || n.CurrentVersion != events.V20261201 {
			t.Errorf("notice %+v, want cause %q on 2026-06-01, sunset 2027-06-01, current 2026-12-01", n, want[n.SubscriptionID])
		}
		delete(want, n.SubscriptionID)
	}
	// A delivery in flight when usher restarts may be sent again under the
	// same webhook id (delivery is at least once; receivers dedupe by id):
	// what must hold is one event per subscription and version, which the
	// distinct notices above and the outbox count below check.
	if n := len(outboxOf(t, s, usher.TypeSubscriptionVersionDeprecated)); n != 4 {
		t.Errorf("outbox holds %d subscription.version_deprecated events, want 4", n)
	}
}

// waitNotices waits until ops received at least n version_deprecated
// deliveries and returns the data of each.
func waitNotices(t *testing.T, ops *dlvReceiver, n int) []versionNotice {
	t.Helper()
	var got []versionNotice
	ushertest.Eventually(t, dlvWait, "subscription.version_deprecated deliveries", func() bool {
		got = got[:0]
		seen := map[string]bool{} // webhook ids: one notice per event, however often sent
		for _, r := range ops.requests() {
			var b struct {
				Type string        `json:"type"`
				Data versionNotice `json:"data"`
			}
			if json.Unmarshal(r.body, &b) == nil && b.Type == usher.TypeSubscriptionVersionDeprecated && !seen[r.id()] {
				seen[r.id()] = true
				got = append(got, b.Data)
			}
		}
		return len(got) >= n
	})
	return got
}

func patchSubscription(t *testing.T, s *ushertest.Server, id string, body map[string]any) {
	t.Helper()
	if status := s.Admin(http.MethodPatch, "/v1/subscriptions/"+id, "", body, nil); status != http.StatusOK {
		t.Fatalf("PATCH /v1/subscriptions/%s %v: %d", id, body, status)
	}
}

// storeOldSubscription writes a subscription on 2026-06-01 to the store
// directly, as a release from before the version's deprecation did: no
// operator event was raised for it.
func storeOldSubscription(t *testing.T, s *ushertest.Server, id, url string) {
	t.Helper()
	now := time.Now().UTC()
	sub := usher.Subscription{
		ID: id, URL: url, EventTypes: []string{"order.confirmed"}, Signing: "hmac", Status: usher.SubscriptionActive,
		EventVersion: events.V20260601, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	key := usher.SubscriptionKey{ID: "key_" + id, Algorithm: "hmac", Secret: make([]byte, 32), CreatedAt: now}
	if err := s.Store().CreateSubscription(context.Background(), sub, key); err != nil {
		t.Fatalf("store subscription %s: %v", id, err)
	}
}
