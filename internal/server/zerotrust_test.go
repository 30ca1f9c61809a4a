package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v82/webhook"
	_ "modernc.org/sqlite"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
	"github.com/usherhq/usher/internal/webhook"
)

func problemOf(t *testing.T, body []byte) problem.Details {
	t.Helper()
	var d problem.Details
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("body %q is not a problem: %v", body, err)
	}
	return d
}

func setPolicy(t *testing.T, s *ushertest.Server, p usher.SourcePolicy) {
	t.Helper()
	if status := s.Admin(http.MethodPatch, "/v1/sources/"+s.Source, "", p, nil); status != http.StatusOK {
		t.Fatalf("PATCH source policy: %d", status)
	}
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	setPolicy(t, s, usher.SourcePolicy{RatePerSecond: 0.5, Burst: 2})
	var statuses []int
	var last *http.Response
	for range 3 {
		req := s.SignedRequest(ushertest.NewID(), ushertest.Envelope("venue.noop", map[string]any{}))
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			last = resp
			if d := problemOf(t, body); d.Code != "rate_limited" {
				t.Errorf("429 problem code %q", d.Code)
			}
		}
	}
	if statuses[0] != 202 || statuses[1] != 202 || statuses[2] != 429 {
		t.Fatalf("statuses %v, want 202 202 429", statuses)
	}
	if ra := last.Header.Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After %q, want 2 (one token every 2 s)", ra)
	}
}

func TestAllowlistAndTrustedProxies(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t, ushertest.WithConfig(func(c *server.Config) { c.TrustedProxies = []string{"127.0.0.1/32"} }))
	setPolicy(t, s, usher.SourcePolicy{AllowCIDRs: []string{"203.0.113.0/24"}})
	send := func(xff string) (int, problem.Details) {
		req := s.SignedRequest(ushertest.NewID(), ushertest.Envelope("venue.noop", map[string]any{}))
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		status, body := s.Do(req)
		if status >= 300 {
			return status, problemOf(t, body)
		}
		return status, problem.Details{}
	}
	if status, d := send(""); status != 403 || d.Code != "address_not_allowed" {
		t.Errorf("direct from 127.0.0.1: %d %s, want 403 address_not_allowed", status, d.Code)
	}
	if status, _ := send("203.0.113.9"); status != 202 {
		t.Errorf("via trusted proxy from an allowed address: %d, want 202", status)
	}
	if status, _ := send("203.0.113.9, 198.51.100.4"); status != 403 {
		t.Errorf("right-most untrusted hop 198.51.100.4: %d, want 403", status)
	}
}

func TestPerSourceBodyLimitAndTolerance(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	setPolicy(t, s, usher.SourcePolicy{MaxBodyBytes: 2048, ToleranceSeconds: 10})
	big := ushertest.Envelope("venue.noop", map[string]any{"pad": strings.Repeat("x", 4096)})
	if status, body := s.Send(ushertest.NewID(), big); status != 413 || problemOf(t, body).Code != "body_too_large" {
		t.Errorf("4 KiB body: %d %s, want 413", status, body)
	}
	stale := signedAt(t, s, s.Secret.Key, time.Now().Add(-30*time.Second), ushertest.Envelope("venue.noop", map[string]any{}))
	if status, body := s.Do(stale); status != 400 || problemOf(t, body).Code != "timestamp_out_of_tolerance" {
		t.Errorf("30 s old with 10 s tolerance: %d %s, want 400", status, body)
	}
}

// TestKeyRotationAtAControllableClock: during the grace window the old and
// the new secret both verify, after it only the new one; which key verified
// is recorded on the event.
func TestKeyRotationAtAControllableClock(t *testing.T) {
	t.Parallel()
	clock := ushertest.NewClock(time.Now())
	s := ushertest.Start(t, ushertest.WithClock(clock))
	oldKey := s.Secret.Key
	var rotated struct {
		Secret struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		} `json:"secret"`
	}
	if status := s.Admin(http.MethodPost, "/v1/sources/demo/secrets:rotate", "", map[string]string{"grace": "1h"}, &rotated); status != 201 {
		t.Fatalf("rotate: %d", status)
	}
	newKey, err := webhook.DecodeSecret(rotated.Secret.Secret)
	if err != nil {
		t.Fatal(err)
	}
	send := func(key []byte, orderID string) int {
		status, _ := s.Do(signedAt(t, s, key, clock.Now(), ushertest.Envelope("order.paid", ushertest.Paid(orderID, 1))))
		return status
	}
	if got := send(oldKey, "ord_old_in_grace"); got != 202 {
		t.Errorf("old key inside the grace window: %d, want 202", got)
	}
	if got := send(newKey, "ord_new_in_grace"); got != 202 {
		t.Errorf("new key inside the grace window: %d, want 202", got)
	}
	clock.Advance(61 * time.Minute) // the source cache's TTL runs on the same clock
	if got := send(oldKey, "ord_old_after"); got != 401 {
		t.Errorf("old key after the grace window: %d, want 401", got)
	}
	if got := send(newKey, "ord_new_after"); got != 202 {
		t.Errorf("new key after the grace window: %d, want 202", got)
	}
	waitProcessed(t, s, 3)
	recs, _ := s.Store().InboundRecords(context.Background(), "ord_new_after")
	if len(recs) != 1 || recs[0].KeyID != rotated.Secret.ID {
		t.Errorf("key recorded on the event: %+v, want %s", recs, rotated.Secret.ID)
	}
}

func TestSecretsAreSealedAtRest(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	var src struct {
		Secrets []map[string]any `json:"secrets"`
	}
	if status := s.Admin(http.MethodGet, "/v1/sources/demo", "", nil, &src); status != 200 || len(src.Secrets) != 1 {
		t.Fatalf("GET source: %d %+v", status, src)
	}
	if _, shown := src.Secrets[0]["secret"]; shown {
		t.Error("GET /v1/sources/demo shows the secret after creation")
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.Config.DataDir, "usher.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored []byte
	if err := db.QueryRow(`SELECT secret FROM source_secrets WHERE source = 'demo'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, s.Secret.Key) || len(stored) <= len(s.Secret.Key) {
		t.Errorf("stored secret (%d bytes) holds the key in the clear", len(stored))
	}
	if info, err := os.Stat(filepath.Join(s.Config.DataDir, "master.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("master key file: %v, mode %v", err, info.Mode())
	}
}

func TestProductionRefusesToStartWithoutMasterKey(t *testing.T) {
	t.Parallel()
	err := server.Config{Production: true}.WithDefaults().Validate()
	if err == nil || !strings.Contains(err.Error(), "master key") {
		t.Errorf("Validate = %v, want a master key error", err)
	}
}

// TestStripeSignedByStripeGo sends payloads signed by stripe-go's own test
// helper through a stripe source and checks the mapping to order.paid and to
// order.chargeback (found through the payment intent).
func TestStripeSignedByStripeGo(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	const secret = "whsec_stripe_test_0123456789abcdef"
	if status := s.Admin(http.MethodPost, "/v1/sources", "", map[string]any{"name": "stripe", "scheme": "stripe", "secret": secret}, nil); status != 201 {
		t.Fatalf("create stripe source: %d", status)
	}
	for _, tt := range []string{"GA", "VIP"} {
		if status := s.Admin(http.MethodPut, "/v1/shows/shw_01JDZ7W2X3Y4Z5A6B7C8D9E0F1/inventory/"+tt, "", map[string]int{"capacity": 10}, nil); status != 200 {
			t.Fatalf("capacity: %d", status)
		}
	}
	sendStripe := func(fixture string) {
		t.Helper()
		payload, err := os.ReadFile(filepath.Join("..", "webhook", "testdata", "stripe", fixture))
		if err != nil {
			t.Fatal(err)
		}
		signed := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()})
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/webhooks/stripe", bytes.NewReader(signed.Payload))
		req.Header.Set("Stripe-Signature", signed.Header)
		req.Header.Set("Content-Type", "application/json")
		if status, body := s.Do(req); status != 202 {
			t.Fatalf("%s: %d %s", fixture, status, body)
		}
	}
	sendStripe("checkout_session_completed.json")
	o := waitOrder(t, s, "ord_01JDZ8Y3K4M5N6P7Q8R9S0T1V2")
	if o.Status != usher.OrderPaid || len(o.Tickets) != 3 || o.PaymentRef != "pi_3QOvC8LkdIwHu7ix0nVv3Kq7" {
		t.Fatalf("order from Stripe checkout: %s, %d tickets, ref %q", o.Status, len(o.Tickets), o.PaymentRef)
	}
	sendStripe("charge_dispute_created.json")
	ushertest.Eventually(t, waitLong, "chargeback applied", func() bool {
		o, err := s.Store().OrderWithTickets(context.Background(), o.OrderID)
		return err == nil && o.Status == usher.OrderChargedBack
	})
	recs, _ := s.Store().InboundRecords(context.Background(), o.OrderID)
	if len(recs) == 0 || !strings.Contains(string(recs[0].Data), "order_id") {
		t.Errorf("canonical data kept on the dedupe record: %+v", recs)
	}
}
