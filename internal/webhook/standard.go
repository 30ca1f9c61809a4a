package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// Standard Webhooks headers, in canonical form.
const (
	headerWebhookID        = "Webhook-Id"
	headerWebhookTimestamp = "Webhook-Timestamp"
	headerWebhookSignature = "Webhook-Signature"
)

// maxEventIDLen bounds a provider event id, which becomes a dedupe key.
const maxEventIDLen = 256

// standardScheme implements Standard Webhooks' symmetric v1 signatures:
// base64(HMAC-SHA256(key, id "." timestamp "." body)).
type standardScheme struct{}

// Name returns "standard-webhooks".
func (standardScheme) Name() string { return SchemeStandardWebhooks }

// DefaultTolerance returns five minutes.
func (standardScheme) DefaultTolerance() time.Duration { return DefaultTolerance }

// EventIDField returns "webhook-id", the header carrying the event id.
func (standardScheme) EventIDField() string { return "webhook-id" }

// ParseSecret decodes a "whsec_<base64>" secret (see DecodeSecret).
func (standardScheme) ParseSecret(text string) ([]byte, error) {
	key, err := DecodeSecret(text)
	if err != nil {
		return nil, usher.Errorf(usher.CodeInvalid, "secret: %v", err)
	}
	return key, nil
}

// NewSecret returns "whsec_" and the base64 of 32 random bytes.
func (standardScheme) NewSecret() (string, error) {
	key, err := GenerateSecret()
	if err != nil {
		return "", err
	}
	return EncodeSecret(key), nil
}

// Verify accepts the request when any v1 entry of webhook-signature matches
// any secret; entries of other versions (v1a, future ones) are ignored.
func (standardScheme) Verify(header http.Header, body []byte, secrets []Secret, now time.Time, tolerance time.Duration) (Verified, error) {
	id, err := singleHeader(header, headerWebhookID)
	if err != nil {
		return Verified{}, err
	}
	if len(id) > maxEventIDLen {
		return Verified{}, usher.Errorf(usher.CodeInvalidSignature, "webhook-id header is longer than %d bytes", maxEventIDLen)
	}
	tsHeader, err := singleHeader(header, headerWebhookTimestamp)
	if err != nil {
		return Verified{}, err
	}
	ts, ok := parseUnix(tsHeader)
	if !ok {
		return Verified{}, usher.Errorf(usher.CodeInvalidSignature, "webhook-timestamp header is not unix seconds")
	}
	candidates := v1Signatures(header.Values(headerWebhookSignature))
	if len(candidates) == 0 {
		return Verified{}, usher.Errorf(usher.CodeInvalidSignature, "webhook-signature header has no v1 signature")
	}

	expected := make([]byte, base64.StdEncoding.EncodedLen(sha256.Size))
	for _, s := range secrets {
		if len(s.Key) == 0 {
			continue // an empty key would let anyone sign
		}
		base64.StdEncoding.Encode(expected, macV1(s.Key, id, ts, body))
		for _, c := range candidates {
			if hmac.Equal(c, expected) {
				v := Verified{EventID: id, Timestamp: time.Unix(ts, 0).UTC(), SecretID: s.ID}
				if err := checkTolerance(v.Timestamp, now, tolerance, DefaultTolerance); err != nil {
					return Verified{}, err
				}
				return v, nil
			}
		}
	}
	return Verified{}, usher.Errorf(usher.CodeInvalidSignature, "no signature matched")
}

// Normalize parses body, which is already the canonical envelope.
func (s standardScheme) Normalize(v Verified, body []byte) (usher.Envelope, []byte, error) {
	n, err := s.normalizeDecoded(v, body)
	return n.Envelope, nil, err
}

// normalizeDecoded is Normalize with the data it decoded (see
// NormalizeDecoded).
func (standardScheme) normalizeDecoded(_ Verified, body []byte) (Normalized, error) {
	env, data, err := parseCanonical(body)
	if err != nil {
		return Normalized{}, err
	}
	return Normalized{Envelope: env, Decoded: data}, nil
}

// Sign returns webhook-id, webhook-timestamp and a single v1 webhook-signature.
func (standardScheme) Sign(eventID string, ts time.Time, body []byte, secret Secret) http.Header {
	h := make(http.Header, 3)
	h.Set(headerWebhookID, eventID)
	h.Set(headerWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(headerWebhookSignature, SignatureV1(secret.Key, eventID, ts.Unix(), body))
	return h
}

// SignatureV1 returns the Standard Webhooks signature entry "v1,<base64>" of
// body sent with id at unix time ts.
func SignatureV1(key []byte, id string, ts int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(macV1(key, id, ts, body))
}

// macV1 returns HMAC-SHA256(key, id "." ts "." body).
func macV1(key []byte, id string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// v1Signatures returns the base64 text of every v1 entry in the
// space-separated webhook-signature values.
func v1Signatures(values []string) [][]byte {
	var sigs [][]byte
	for _, v := range values {
		for _, entry := range strings.Fields(v) {
			version, sig, ok := strings.Cut(entry, ",")
			if ok && version == "v1" && sig != "" {
				sigs = append(sigs, []byte(sig))
			}
		}
	}
	return sigs
}

// singleHeader returns the one non-empty value of the header key, or a
// usher.CodeInvalidSignature error when it is missing or repeated.
func singleHeader(header http.Header, key string) (string, error) {
	values := header.Values(key)
	name := strings.ToLower(key)
	switch {
	case len(values) == 0 || values[0] == "":
		return "", usher.Errorf(usher.CodeInvalidSignature, "missing %s header", name)
	case len(values) > 1:
		return "", usher.Errorf(usher.CodeInvalidSignature, "repeated %s header", name)
	}
	return values[0], nil
}
