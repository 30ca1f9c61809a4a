package webhook

import (
	"net/http"
	"slices"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/rawjson"
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
// Key is what the scheme's ParseSecret returns for the secret's text: for a
// Standard Webhooks source the decoded key (see DecodeSecret), for a Stripe
// source the bytes of the whole "whsec_…" string as the Stripe dashboard
// shows it, because Stripe uses that string itself as the HMAC key.
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

// Scheme is one provider's signing scheme. A scheme owns everything about
// itself: its name, verification, mapping onto the canonical envelope, its
// secret format and generation, and signing for senders. Adding a provider
// is one file implementing Scheme plus one line in builtin below; the API
// (admin), the receiver (ingest) and the CLI (usher send, usher source) only
// go through this interface.
type Scheme interface {
	// Name returns the scheme's name, e.g. "standard-webhooks" or "stripe".
	Name() string
	// DefaultTolerance returns the scheme's default timestamp tolerance.
	DefaultTolerance() time.Duration
	// EventIDField names where the scheme carries the provider event id
	// (a header or a body field), for error messages.
	EventIDField() string
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
	// ParseSecret returns the HMAC key of a secret in the scheme's text form
	// (what an operator pastes or the API shows once). Errors are
	// *usher.Error with code usher.CodeInvalid.
	ParseSecret(text string) (key []byte, err error)
	// NewSecret returns a new random secret in the scheme's text form, read
	// from crypto/rand.
	NewSecret() (text string, err error)
}

// Normalized is a verified body mapped onto the canonical envelope, with
// the canonical data decoded once for every step after the scheme's: the
// schema check, the order id, the sealing of personal data.
type Normalized struct {
	usher.Envelope
	// Original is nil for a canonical scheme, else a copy of the
	// provider's payload.
	Original []byte
	// Decoded is Envelope.Data decoded (rawjson.DecodeObject); its Fields
	// share Envelope.Data's memory.
	Decoded rawjson.Object
}

// NormalizeDecoded is s.Normalize with the canonical data decoded too. A
// scheme that decodes the data on the way (Standard Webhooks, whose body
// is the envelope) hands that over; for another one the data is decoded
// after Normalize. Errors are Normalize's.
func NormalizeDecoded(s Scheme, v Verified, body []byte) (Normalized, error) {
	if d, ok := s.(decodingNormalizer); ok {
		return d.normalizeDecoded(v, body)
	}
	env, original, err := s.Normalize(v, body)
	if err != nil {
		return Normalized{}, err
	}
	data, ok := rawjson.DecodeObject(env.Data)
	if !ok { // Normalize promises a JSON object
		return Normalized{}, usher.Errorf(usher.CodeMalformedEnvelope, "envelope data is not a JSON object")
	}
	return Normalized{Envelope: env, Original: original, Decoded: data}, nil
}

// decodingNormalizer is a scheme whose Normalize decodes the canonical
// data anyway.
type decodingNormalizer interface {
	normalizeDecoded(v Verified, body []byte) (Normalized, error)
}

// builtin lists the registered schemes: one line per scheme.
func builtin() []Scheme {
	return []Scheme{
		standardScheme{},
		stripeScheme{},
	}
}

// Lookup returns the scheme registered under name.
func Lookup(name string) (Scheme, bool) {
	return lookupIn(builtin(), name)
}

// Names returns the names of all schemes, sorted.
func Names() []string {
	return namesOf(builtin())
}

// lookupIn returns the scheme of list named name.
func lookupIn(list []Scheme, name string) (Scheme, bool) {
	for _, s := range list {
		if s.Name() == name {
			return s, true
		}
	}
	return nil, false
}

// namesOf returns the sorted names of list.
func namesOf(list []Scheme) []string {
	names := make([]string, 0, len(list))
	for _, s := range list {
		names = append(names, s.Name())
	}
	slices.Sort(names)
	return names
}

// SourceSecret returns the key and text form of a new source secret of s:
// given, checked with s.ParseSecret, when not empty, else a new one from
// s.NewSecret. The text is what the API shows once.
func SourceSecret(s Scheme, given string) (key []byte, text string, err error) {
	text = given
	if text == "" {
		if text, err = s.NewSecret(); err != nil {
			return nil, "", err
		}
	}
	if key, err = s.ParseSecret(text); err != nil {
		return nil, "", err
	}
	return key, text, nil
}

// SignWithText returns the signature headers of body as s sends it, signed
// with the secret in its text form: what `usher send` and other senders
// attach to a request.
func SignWithText(s Scheme, eventID string, ts time.Time, body []byte, secretText string) (http.Header, error) {
	key, err := s.ParseSecret(secretText)
	if err != nil {
		return nil, err
	}
	return s.Sign(eventID, ts, body, Secret{ID: "sender", Key: key}), nil
}
