package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/usherhq/usher"
)

// secretPrefix starts every encoded secret of both Standard Webhooks and Stripe.
const secretPrefix = "whsec_"

// Bounds of a decoded Standard Webhooks key, from the specification.
const (
	minSecretLen = 24
	maxSecretLen = 64
)

// GenerateSecret returns a new random 32-byte key for a Standard Webhooks
// source, read from crypto/rand.
func GenerateSecret() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	return key, nil
}

// EncodeSecret returns key in the Standard Webhooks form "whsec_<base64>".
func EncodeSecret(key []byte) string {
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// DecodeSecret returns the key of a Standard Webhooks secret "whsec_<base64>"
// whose key is 24 to 64 bytes long. The prefix is required.
//
// DecodeSecret is for Standard Webhooks only: a Stripe secret is not base64,
// and a Stripe source's Secret.Key is the bytes of its whole "whsec_…" string.
// Errors are *usher.Error with code usher.CodeInvalid.
func DecodeSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, usher.Errorf(usher.CodeInvalid, "secret must start with %q", secretPrefix)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, usher.WrapError(usher.CodeInvalid, fmt.Errorf("decode secret: %w", err), "secret is not valid base64")
	}
	if len(key) < minSecretLen || len(key) > maxSecretLen {
		return nil, usher.Errorf(usher.CodeInvalid, "secret must decode to %d to %d bytes, not %d", minSecretLen, maxSecretLen, len(key))
	}
	return key, nil
}
