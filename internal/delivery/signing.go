package delivery

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/ticketing"
)

// Standard Webhooks headers.
const (
	headerID        = "webhook-id"
	headerTimestamp = "webhook-timestamp"
	headerSignature = "webhook-signature"
)

// KeyKind is what a subscriber is given of a new signing key, named as the
// API's field that carries it.
type KeyKind string

// Key kinds.
const (
	KeySecret    KeyKind = "secret"     // a shared secret, shown once
	KeyPublicKey KeyKind = "public_key" // a public key, also published
)

// Signer is one outbound signing algorithm of a subscription. A signer owns
// everything about itself: its name in a subscription's "signing", the
// version of its webhook-signature entries, its keys and its signatures.
// Adding one is one file implementing Signer plus one line in signers.
type Signer interface {
	// Name returns the algorithm's name as a subscription's signing field
	// spells it, e.g. "hmac".
	Name() string
	// Version returns the webhook-signature entry version, e.g. "v1".
	Version() string
	// KeyKind returns what the subscriber is given of a new key.
	KeyKind() KeyKind
	// NewKey makes a key: the secret usher signs with, the public key
	// (nil for a symmetric signer) and the text the subscriber is given.
	NewKey() (secret, public []byte, shown string, err error)
	// Sign returns the raw signature of content.
	Sign(secret, content []byte) []byte
	// Verify reports whether sig is a signature of content by the key, as
	// a subscriber checks it: with the secret for a symmetric signer, with
	// the public key for an asymmetric one.
	Verify(secret, public, content, sig []byte) bool
	// PublishedKey returns the text of a public key for the key listing,
	// or "" for a symmetric signer.
	PublishedKey(public []byte) string
}

// signers lists the registered signers: one line per signer.
func signers() []Signer {
	return []Signer{
		hmacSigner{},
		ed25519Signer{},
	}
}

// LookupSigner returns the signer registered under name.
func LookupSigner(name string) (Signer, bool) {
	for _, s := range signers() {
		if s.Name() == name {
			return s, true
		}
	}
	return nil, false
}

// SignerNames returns the names of all signers, sorted.
func SignerNames() []string {
	var names []string
	for _, s := range signers() {
		names = append(names, s.Name())
	}
	slices.Sort(names)
	return names
}

// keyKindOf returns the key kind of the signer named algorithm; KeySecret
// for an unknown one, which never shows a public key.
func keyKindOf(algorithm string) KeyKind {
	if s, ok := LookupSigner(algorithm); ok {
		return s.KeyKind()
	}
	return KeySecret
}

// newKey makes a signing key and returns it with the text the subscriber
// is given (Signer.NewKey).
func newKey(algorithm string, now time.Time) (usher.SubscriptionKey, string, error) {
	s, ok := LookupSigner(algorithm)
	if !ok {
		return usher.SubscriptionKey{}, "", fmt.Errorf("unknown signing algorithm %q", algorithm)
	}
	id, err := ticketing.NewID("key_")
	if err != nil {
		return usher.SubscriptionKey{}, "", err
	}
	k := usher.SubscriptionKey{ID: id, Algorithm: algorithm, CreatedAt: now}
	var shown string
	if k.Secret, k.PublicKey, shown, err = s.NewKey(); err != nil {
		return usher.SubscriptionKey{}, "", err
	}
	return k, shown, nil
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
	content := signedContent(id, ts, body)
	for _, current := range []bool{true, false} {
		for _, k := range keys {
			if k.ExpiresAt.IsZero() != current || !live(k, ts) {
				continue
			}
			if s, ok := LookupSigner(k.Algorithm); ok {
				entries = append(entries, s.Version()+","+base64.StdEncoding.EncodeToString(s.Sign(k.Secret, content)))
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
