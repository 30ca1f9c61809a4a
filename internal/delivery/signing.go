package delivery

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/ticketing"
	"github.com/usherhq/usher/internal/webhook"
)

// Signing algorithms of a subscription.
const (
	SigningHMAC    = "hmac"    // Standard Webhooks v1: HMAC-SHA256 with a shared secret
	SigningEd25519 = "ed25519" // Standard Webhooks v1a: Ed25519, public keys published
)

// publicKeyPrefix starts a Standard Webhooks Ed25519 public key.
const publicKeyPrefix = "whpk_"

// Standard Webhooks headers.
const (
	headerID        = "webhook-id"
	headerTimestamp = "webhook-timestamp"
	headerSignature = "webhook-signature"
)

// newKey makes a signing key and returns it with the text the subscriber
// is given: the secret "whsec_…" for HMAC, the public key "whpk_…" for
// Ed25519.
func newKey(algorithm string, now time.Time) (usher.SubscriptionKey, string, error) {
	id, err := ticketing.NewID("key_")
	if err != nil {
		return usher.SubscriptionKey{}, "", err
	}
	k := usher.SubscriptionKey{ID: id, Algorithm: algorithm, CreatedAt: now}
	switch algorithm {
	case SigningHMAC:
		if k.Secret, err = webhook.GenerateSecret(); err != nil {
			return usher.SubscriptionKey{}, "", err
		}
		return k, webhook.EncodeSecret(k.Secret), nil
	case SigningEd25519:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return usher.SubscriptionKey{}, "", fmt.Errorf("generate ed25519 key: %w", err)
		}
		k.Secret, k.PublicKey = priv.Seed(), pub
		return k, encodePublicKey(pub), nil
	}
	return usher.SubscriptionKey{}, "", fmt.Errorf("unknown signing algorithm %q", algorithm)
}

func encodePublicKey(pub []byte) string {
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// live reports whether a key still signs at now: a current key, or a
// replaced one inside its grace window.
func live(k usher.SubscriptionKey, now time.Time) bool {
	return k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt)
}

// signatures returns the webhook-signature value: one entry per live key,
// space-separated, the current keys first. During a rotation's grace window
// the receiver finds one made with the secret it knows.
func signatures(keys []usher.SubscriptionKey, id string, ts time.Time, body []byte) string {
	var entries []string
	for _, current := range []bool{true, false} {
		for _, k := range keys {
			if k.ExpiresAt.IsZero() != current || !live(k, ts) {
				continue
			}
			switch k.Algorithm {
			case SigningHMAC:
				entries = append(entries, webhook.SignatureV1(k.Secret, id, ts.Unix(), body))
			case SigningEd25519:
				priv := ed25519.NewKeyFromSeed(k.Secret)
				entries = append(entries, "v1a,"+base64.StdEncoding.EncodeToString(ed25519.Sign(priv, signedContent(id, ts, body))))
			}
		}
	}
	return strings.Join(entries, " ")
}

// signedContent is what Standard Webhooks signs: id "." timestamp "." body.
func signedContent(id string, ts time.Time, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(body)+24)
	b = append(b, id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts.Unix(), 10)
	b = append(b, '.')
	return append(b, body...)
}

// signedHeaders returns the headers of one attempt.
func signedHeaders(keys []usher.SubscriptionKey, id string, ts time.Time, body []byte) http.Header {
	h := make(http.Header, 5)
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "usher-webhooks/1")
	h.Set(headerID, id)
	h.Set(headerTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(headerSignature, signatures(keys, id, ts, body))
	return h
}
