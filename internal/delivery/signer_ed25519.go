package delivery

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// SigningEd25519 is the name of Standard Webhooks v1a signing: Ed25519, with
// the public keys published.
const SigningEd25519 = "ed25519"

// publicKeyPrefix starts a Standard Webhooks Ed25519 public key.
const publicKeyPrefix = "whpk_"

// ed25519Signer signs with Ed25519; usher keeps the seed, the subscriber is
// given the public key "whpk_<base64>".
type ed25519Signer struct{}

// Name returns "ed25519".
func (ed25519Signer) Name() string { return SigningEd25519 }

// Version returns "v1a".
func (ed25519Signer) Version() string { return "v1a" }

// KeyKind returns KeyPublicKey.
func (ed25519Signer) KeyKind() KeyKind { return KeyPublicKey }

// NewKey returns a random seed, its public key and the key's "whpk_…" text.
func (s ed25519Signer) NewKey() (secret, public []byte, shown string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, "", fmt.Errorf("generate ed25519 key: %w", err)
	}
	return priv.Seed(), pub, s.PublishedKey(pub), nil
}

// Sign returns the Ed25519 signature of content by the key of seed secret.
func (ed25519Signer) Sign(secret, content []byte) []byte {
	return ed25519.Sign(ed25519.NewKeyFromSeed(secret), content)
}

// Verify checks sig with the public key.
func (ed25519Signer) Verify(_, public, content, sig []byte) bool {
	return len(public) == ed25519.PublicKeySize && ed25519.Verify(public, content, sig)
}

// PublishedKey returns "whpk_<base64>".
func (ed25519Signer) PublishedKey(public []byte) string {
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(public)
}
