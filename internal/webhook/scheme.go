package webhook

import (
	"net/http"
	"slices"
	"time"

	"github.com/usherhq/usher"
)

// Scheme names, as a source's configuration spells them.
const (
	// SchemeStandardWebhooks is the name of the Standard Webhooks scheme.
	SchemeStandardWebhooks = "standard-webhooks"
	// SchemeStripe is the name of Stripe's Stripe-Signature scheme.
	SchemeStripe = "stripe"
)

// DefaultTolerance is how far a signed timestamp may lie from now, in either
// direction, for both schemes. A Verify given a tolerance <= 0 uses it.
const DefaultTolerance = 5 * time.Minute

// Secret is one signing key of a source.
//
// For a Standard Webhooks source Key is the decoded key (see DecodeSecret).
// For a Stripe source Key is the bytes of the whole "whsec_…" string as the
// Stripe dashboard shows it, because Stripe uses that string itself as the
// HMAC key.
type Secret struct {
	ID  string
	Key []byte
}

// Verified is what a scheme learned from an authentic request.
type Verified struct {
	EventID   string    // provider event id (webhook-id header; Stripe: body "id")
	Timestamp time.Time // signed timestamp, UTC
	SecretID  string    // ID of the Secret that verified
}

// Scheme is one provider's signing scheme: adding a provider touches its own
// files, their tests and one line of the registry below.
type Scheme interface {
	// Name returns the scheme's name, e.g. "standard-webhooks" or "stripe".
	Name() string
	// DefaultTolerance returns the scheme's default timestamp tolerance.
	DefaultTolerance() time.Duration
	// Verify authenticates header and body with any of secrets (all are
	// tried, compared in constant time), then checks that the signed
	// timestamp lies within tolerance of now (DefaultTolerance when
	// tolerance <= 0). Errors are *usher.Error with code
	// usher.CodeInvalidSignature (missing, malformed or wrong signature,
	// missing id or timestamp header), usher.CodeTimestampTolerance (stale
	// or future timestamp of an authentic request) or
	// usher.CodeMalformedEnvelope (a body the scheme cannot read where it
	// needs to, such as Stripe's event id).
	Verify(header http.Header, body []byte, secrets []Secret, now time.Time, tolerance time.Duration) (Verified, error)
	// Normalize maps a verified body onto the canonical usher.Envelope.
	// original is nil for a canonical scheme, else a copy of the provider's
	// payload. Errors are *usher.Error with code usher.CodeMalformedEnvelope.
	Normalize(v Verified, body []byte) (env usher.Envelope, original []byte, err error)
	// Sign returns the headers a sender attaches to body (the signature
	// headers only: the caller sets Content-Type).
	Sign(eventID string, ts time.Time, body []byte, secret Secret) http.Header
}

// schemes returns the registry, built anew on each call so that nobody can
// change it.
func schemes() map[string]Scheme {
	return map[string]Scheme{
		SchemeStandardWebhooks: standardScheme{},
		SchemeStripe:           stripeScheme{},
	}
}

// Lookup returns the scheme registered under name.
func Lookup(name string) (Scheme, bool) {
	s, ok := schemes()[name]
	return s, ok
}

// Names returns the names of all schemes, sorted.
func Names() []string {
	m := schemes()
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
