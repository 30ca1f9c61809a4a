package delivery

import (
	"crypto/hmac"
	"crypto/sha256"

	"github.com/usherhq/usher/internal/webhook"
)

// SigningHMAC is the name of Standard Webhooks v1 signing: HMAC-SHA256 with
// a shared secret.
const SigningHMAC = "hmac"

// hmacSigner signs with HMAC-SHA256 and a 32-byte shared secret given to the
// subscriber as "whsec_<base64>".
type hmacSigner struct{}

// Name returns "hmac".
func (hmacSigner) Name() string { return SigningHMAC }

// Version returns "v1".
func (hmacSigner) Version() string { return "v1" }

// KeyKind returns KeySecret.
func (hmacSigner) KeyKind() KeyKind { return KeySecret }

// NewKey returns a random secret and its "whsec_…" text.
func (hmacSigner) NewKey() (secret, public []byte, shown string, err error) {
	if secret, err = webhook.GenerateSecret(); err != nil {
		return nil, nil, "", err
	}
	return secret, nil, webhook.EncodeSecret(secret), nil
}

// Sign returns HMAC-SHA256(secret, content).
func (hmacSigner) Sign(secret, content []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(content)
	return m.Sum(nil)
}

// Verify compares sig with the HMAC of content in constant time.
func (h hmacSigner) Verify(secret, _, content, sig []byte) bool {
	return len(secret) > 0 && hmac.Equal(sig, h.Sign(secret, content))
}

// PublishedKey returns "": a shared secret is never published.
func (hmacSigner) PublishedKey([]byte) string { return "" }
