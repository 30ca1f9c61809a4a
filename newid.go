package usher

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a fresh random identifier: prefix followed by 24 hex digits
// (96 random bits), such as "tok_3f9c…". It is usher's one random-id
// helper: token, key, ticket, nonce and lease ids all come from it. The
// result follows the identifier grammar when prefix does.
func NewID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+): it crashes instead
	return prefix + hex.EncodeToString(b[:])
}
