package delivery

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// verifyWith checks a received request against a secret with the Standard
// Webhooks reference library.
func verifyWith(t *testing.T, secret string, r received, checkTime bool) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	if checkTime {
		return wh.Verify(r.Body, r.Header)
	}
	return wh.VerifyIgnoringTimestamp(r.Body, r.Header)
}

func TestSignaturesVerifyWithTheReferenceLibrary(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rc := newReceiver(t, nil)
	sub, secret := h.subscribe(rc.URL+"/hook", func(s *SubscriptionSpec) { s.PII = false })
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q, want whsec_…", secret)
	}
	ev := h.emit("ticket.issued", "ord_1")[0]
	got := rc.waitCount(t, 1)[0]
	if err := verifyWith(t, secret, got, true); err != nil {
		t.Fatalf("reference library: %v (headers %v)", err, got.Header)
	}
	if got.ID != ev.ID {
		t.Errorf("webhook-id %q, want the event id %q", got.ID, ev.ID)
	}
	if ts, _ := strconv.ParseInt(got.Timestamp, 10, 64); ts != h.clock.Now().Unix() {
		t.Errorf("webhook-timestamp %s, want the lanes' clock %d", got.Timestamp, h.clock.Now().Unix())
	}
	var body struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(got.Body, &body); err != nil || body.Type != "ticket.issued" || body.Timestamp.IsZero() {
		t.Fatalf("body %s: %v; want {type, timestamp, data}", got.Body, err)
	}
	if string(body.Data) != string(ev.Data) {
		t.Errorf("data %s, want the event's data %s", body.Data, ev.Data)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}

	// Rotation with a grace window: both signatures, each verifies.
	newSecret, _, _, err := func() (string, string, time.Time, error) {
		k, text, until, err := h.svc.RotateSecret(context.Background(), sub.ID, time.Hour)
		return text, k.ID, until, err
	}()
	if err != nil {
		t.Fatalf("RotateSecret: %v", err)
	}
	during := h.untilSigned(rc, 2)
	for _, s := range []string{secret, newSecret} {
		if err := verifyWith(t, s, during, true); err != nil {
			t.Errorf("during the grace window, secret %s…: %v (signature %q)", s[:10], err, during.Signature)
		}
	}

	// After the grace window only the new secret signs.
	h.clock.Advance(time.Hour + time.Second)
	after := h.receive(rc, "ticket.issued", "ord_3")
	if len(strings.Fields(after.Signature)) != 1 {
		t.Fatalf("after the grace window: signature %q, want one entry", after.Signature)
	}
	if err := verifyWith(t, newSecret, after, false); err != nil {
		t.Errorf("new secret after the grace window: %v", err)
	}
	if err := verifyWith(t, secret, after, false); err == nil {
		t.Error("the old secret still verifies after its grace window")
	}
}

// receive emits one event and returns the request that delivered it.
func (h *harness) receive(rc *receiver, typ, order string) received {
	h.t.Helper()
	ev := h.emit(typ, order)[0]
	var got received
	eventually(h.t, "delivery of "+ev.ID, func() bool {
		for _, r := range rc.requests() {
			if r.ID == ev.ID {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

// untilSigned sends events until one arrives with n signatures: the lane
// takes new keys at its next look at the subscription.
func (h *harness) untilSigned(rc *receiver, n int) received {
	h.t.Helper()
	for i := range 100 {
		r := h.receive(rc, "ticket.issued", "ord_rot_"+strconv.Itoa(i))
		if len(strings.Fields(r.Signature)) == n {
			return r
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("no delivery with %d signatures", n)
	return received{}
}

// publishedKeys reads GET /v1/subscriptions/{id}/public-keys.
func publishedKeys(t *testing.T, api http.Handler, id string) []ed25519.PublicKey {
	t.Helper()
	var out struct {
		Keys []keyView `json:"keys"`
	}
	if code := call(t, api, http.MethodGet, "/v1/subscriptions/"+id+"/public-keys", nil, &out); code != http.StatusOK {
		t.Fatalf("public-keys: %d", code)
	}
	var keys []ed25519.PublicKey
	for _, k := range out.Keys {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(k.PublicKey, "whpk_"))
		if err != nil || !strings.HasPrefix(k.PublicKey, "whpk_") || len(raw) != ed25519.PublicKeySize {
			t.Fatalf("public key %q: %v", k.PublicKey, err)
		}
		keys = append(keys, raw)
	}
	return keys
}

// v1aVerifies reports whether some v1a entry of the request verifies with key.
func v1aVerifies(r received, key ed25519.PublicKey) bool {
	msg := []byte(r.ID + "." + r.Timestamp + "." + string(r.Body))
	for _, entry := range strings.Fields(r.Signature) {
		sig, ok := strings.CutPrefix(entry, "v1a,")
		raw, err := base64.StdEncoding.DecodeString(sig)
		if ok && err == nil && ed25519.Verify(key, msg, raw) {
			return true
		}
	}
	return false
}

func TestEd25519SignaturesVerifyWithThePublishedKey(t *testing.T) {
	t.Parallel()
	h := setup(t)
	api := h.api()
	rc := newReceiver(t, nil)
	sub, pub := h.subscribe(rc.URL, func(s *SubscriptionSpec) { s.Signing = SigningEd25519 })
	if !strings.HasPrefix(pub, "whpk_") {
		t.Fatalf("created with %q, want the public key whpk_…", pub)
	}
	keys := publishedKeys(t, api, sub.ID)
	if len(keys) != 1 {
		t.Fatalf("published %d keys, want 1", len(keys))
	}
	h.emit("order.confirmed", "ord_1")
	got := rc.waitCount(t, 1)[0]
	if !strings.HasPrefix(got.Signature, "v1a,") || !v1aVerifies(got, keys[0]) {
		t.Fatalf("signature %q does not verify with the published key", got.Signature)
	}
	tampered := got
	tampered.Body = append([]byte(nil), got.Body...)
	tampered.Body[len(tampered.Body)-2] ^= 1
	if v1aVerifies(tampered, keys[0]) {
		t.Fatal("a tampered body verifies")
	}

	if _, _, _, err := h.svc.RotateSecret(context.Background(), sub.ID, time.Hour); err != nil {
		t.Fatalf("RotateSecret: %v", err)
	}
	keys = publishedKeys(t, api, sub.ID)
	if len(keys) != 2 {
		t.Fatalf("published %d keys during the grace window, want 2", len(keys))
	}
	last := h.untilSigned(rc, 2)
	for i, k := range keys {
		if !v1aVerifies(last, k) {
			t.Errorf("published key %d does not verify %q", i, last.Signature)
		}
	}
}
