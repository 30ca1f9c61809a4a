package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// headerStripeSignature is Stripe's signature header, in canonical form.
const headerStripeSignature = "Stripe-Signature"

// stripeScheme implements Stripe's Stripe-Signature v1 signatures:
// hex(HMAC-SHA256(secret, t "." body)), keyed with the whole "whsec_…" string.
type stripeScheme struct{}

// Name returns "stripe".
func (stripeScheme) Name() string { return SchemeStripe }

// DefaultTolerance returns five minutes, as Stripe's libraries use.
func (stripeScheme) DefaultTolerance() time.Duration { return DefaultTolerance }

// EventIDField returns "id", the body field carrying the event id.
func (stripeScheme) EventIDField() string { return "id" }

// minStripeSecretLen is the shortest Stripe signing secret accepted.
const minStripeSecretLen = 16

// ParseSecret returns the bytes of the whole secret, which Stripe uses
// itself as the HMAC key; it must be at least 16 characters.
func (stripeScheme) ParseSecret(text string) ([]byte, error) {
	if len(text) < minStripeSecretLen {
		return nil, usher.Errorf(usher.CodeInvalid, "a stripe signing secret is at least %d characters", minStripeSecretLen)
	}
	return []byte(text), nil
}

// NewSecret returns "whsec_" and the hex of 32 random bytes.
func (stripeScheme) NewSecret() (string, error) {
	raw, err := GenerateSecret()
	if err != nil {
		return "", err
	}
	return secretPrefix + hex.EncodeToString(raw), nil
}

// Verify accepts the request when any v1 signature of Stripe-Signature
// matches any secret; v0 and unknown entries are ignored. The event id is the
// body's "id".
func (stripeScheme) Verify(header http.Header, body []byte, secrets []Secret, now time.Time, tolerance time.Duration) (Verified, error) {
	value, err := singleHeader(header, headerStripeSignature)
	if err != nil {
		return Verified{}, err
	}
	ts, sigs, err := ParseStripeHeader(value)
	if err != nil {
		return Verified{}, err
	}
	secretID, ok := matchStripe(sigs, ts, body, secrets)
	if !ok {
		return Verified{}, usher.Errorf(usher.CodeInvalidSignature, "no signature matched")
	}
	v := Verified{Timestamp: time.Unix(ts, 0).UTC(), SecretID: secretID}
	if err := checkTolerance(v.Timestamp, now, tolerance, DefaultTolerance); err != nil {
		return Verified{}, err
	}
	if v.EventID, err = stripeEventID(body); err != nil {
		return Verified{}, err
	}
	return v, nil
}

// matchStripe returns the ID of the first secret that any of sigs matches.
func matchStripe(sigs [][]byte, ts int64, body []byte, secrets []Secret) (string, bool) {
	for _, s := range secrets {
		if len(s.Key) == 0 {
			continue // an empty key would let anyone sign
		}
		expected := stripeMAC(s.Key, ts, body)
		for _, sig := range sigs {
			if hmac.Equal(sig, expected) {
				return s.ID, true
			}
		}
	}
	return "", false
}

// Sign returns a Stripe-Signature header with one v1 signature. Stripe
// carries the event id in the body, so eventID is not used.
func (stripeScheme) Sign(_ string, ts time.Time, body []byte, secret Secret) http.Header {
	h := make(http.Header, 1)
	h.Set(headerStripeSignature, "t="+strconv.FormatInt(ts.Unix(), 10)+",v1="+hex.EncodeToString(stripeMAC(secret.Key, ts.Unix(), body)))
	return h
}

// stripeMAC returns HMAC-SHA256(key, ts "." body).
func stripeMAC(key []byte, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ParseStripeHeader parses a Stripe-Signature value
// "t=<unix>,v1=<hex>,v1=<hex>,v0=<hex>" into its timestamp and its
// hex-decoded v1 signatures. Entries that are malformed (no '=', a t that is
// not unix seconds, a v1 that is not 32 bytes of hex) and entries of other
// keys are skipped. It fails when no t or no v1 remains, or when two t
// entries disagree. Errors are *usher.Error with code
// usher.CodeInvalidSignature.
func ParseStripeHeader(s string) (ts int64, v1 [][]byte, err error) {
	haveT := false
	for pair := range strings.SplitSeq(s, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			continue
		}
		switch key {
		case "t":
			n, ok := parseUnix(value)
			if !ok {
				continue
			}
			if haveT && n != ts {
				return 0, nil, usher.Errorf(usher.CodeInvalidSignature, "stripe-signature header has two timestamps")
			}
			ts, haveT = n, true
		case "v1":
			sig, err := hex.DecodeString(value)
			if err != nil || len(sig) != sha256.Size {
				continue
			}
			v1 = append(v1, sig)
		}
	}
	switch {
	case !haveT:
		return 0, nil, usher.Errorf(usher.CodeInvalidSignature, "stripe-signature header has no timestamp")
	case len(v1) == 0:
		return 0, nil, usher.Errorf(usher.CodeInvalidSignature, "stripe-signature header has no v1 signature")
	}
	return ts, v1, nil
}

// stripeEventID returns the "id" of a Stripe event body.
func stripeEventID(body []byte) (string, error) {
	var ev struct {
		ID *string `json:"id"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return "", usher.WrapError(usher.CodeMalformedEnvelope, fmt.Errorf("decode stripe event: %w", err), "body is not a Stripe event")
	}
	if ev.ID == nil || *ev.ID == "" || len(*ev.ID) > maxEventIDLen {
		return "", usher.Errorf(usher.CodeMalformedEnvelope, "stripe event id must be 1 to %d bytes", maxEventIDLen)
	}
	return *ev.ID, nil
}
