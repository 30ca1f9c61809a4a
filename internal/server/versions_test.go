package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/ushertest"
)

// TestOldVersionSubscriptionReceivesTheOldShape: a subscription on the
// deprecated 2026-06-01 receives order.confirmed without previous_status,
// with Deprecation and Sunset headers, and shows deprecated_version; one on
// the default version receives 2026-12-01 with previous_status and no such
// headers. An unknown version is refused.
func TestOldVersionSubscriptionReceivesTheOldShape(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	oldRC, newRC := newDLVReceiver(t, nil), newDLVReceiver(t, nil)
	var old struct {
		EventVersion      string `json:"event_version"`
		DeprecatedVersion bool   `json:"deprecated_version"`
	}
	if status := s.Admin(http.MethodPost, "/v1/subscriptions", "", map[string]any{"url": oldRC.URL, "event_types": []string{"order.confirmed"}, "version": "2026-06-01"}, &old); status != http.StatusCreated ||
		old.EventVersion != "2026-06-01" || !old.DeprecatedVersion {
		t.Fatalf("subscribe on 2026-06-01: %d %+v, want 201 on a deprecated version", status, old)
	}
	subscribe(t, s, map[string]any{"url": newRC.URL, "event_types": []string{"order.confirmed"}})
	if status := s.Admin(http.MethodPost, "/v1/subscriptions", "", map[string]any{"url": newRC.URL, "event_types": []string{"*"}, "version": "2025-01-01"}, nil); status != http.StatusBadRequest {
		t.Errorf("subscribe on an unknown version: %d, want 400", status)
	}

	if m := s.ScrapeMetrics(); !strings.Contains(m, `usher_subscriptions_on_deprecated_version{version="2026-06-01"} 1`) {
		t.Errorf("metrics lack usher_subscriptions_on_deprecated_version 1 for 2026-06-01")
	}
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_versions", 1)))
	oldGot, newGot := waitFor(t, oldRC), waitFor(t, newRC)

	oldBody := decodeDelivery(t, oldGot.body)
	if oldBody.Version != "2026-06-01" || oldBody.Data["previous_status"] != nil {
		t.Errorf("2026-06-01 body %s: want version 2026-06-01 without previous_status", oldGot.body)
	}
	if d, sun := oldGot.header.Get("Deprecation"), oldGot.header.Get("Sunset"); d != "@1796083200" || sun != "Tue, 01 Jun 2027 00:00:00 GMT" {
		t.Errorf("2026-06-01 headers Deprecation %q Sunset %q, want @1796083200 (2026-12-01) and the sunset 2027-06-01", d, sun)
	}
	newBody := decodeDelivery(t, newGot.body)
	if newBody.Version != "2026-12-01" || newBody.Data["previous_status"] == nil {
		t.Errorf("2026-12-01 body %s: want version 2026-12-01 with previous_status", newGot.body)
	}
	if newGot.header.Get("Deprecation") != "" || newGot.header.Get("Sunset") != "" {
		t.Errorf("current version delivered with Deprecation %q Sunset %q", newGot.header.Get("Deprecation"), newGot.header.Get("Sunset"))
	}
}

type deliveryBody struct {
	Type    string         `json:"type"`
	Version string         `json:"version"`
	Data    map[string]any `json:"data"`
}

func decodeDelivery(t *testing.T, raw []byte) deliveryBody {
	t.Helper()
	var b deliveryBody
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("delivery %s: %v", raw, err)
	}
	return b
}

func waitFor(t *testing.T, rc *dlvReceiver) dlvRequest {
	t.Helper()
	ushertest.Eventually(t, dlvWait, "a delivery", func() bool { return len(rc.requests()) > 0 })
	return rc.requests()[0]
}
