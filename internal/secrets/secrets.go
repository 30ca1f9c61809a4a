// Package secrets seals signing secrets at rest with AES-256-GCM under a
// master key, so that a copy of the database alone reveals no secret.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key's size: AES-256.
const KeySize = 32

// Sealed values start with a format byte. Version 1 (before key rotation)
// is nonce and ciphertext; version 2 adds the 4-byte id of the key after the
// format byte, so that a keyring knows which key opens a value and a
// rotation knows which values are still under an old key.
const (
	version1 byte = 1
	version2 byte = 2
	idSize        = 4
)

// Sealer encrypts and decrypts secrets with one master key.
type Sealer struct {
	aead cipher.AEAD
	id   [idSize]byte
}

// New returns a Sealer for a 32-byte master key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	sum := sha256.Sum256(append([]byte("usher master key id\x00"), key...))
	s := &Sealer{aead: aead}
	copy(s.id[:], sum[:idSize])
	return s, nil
}

// ID names the key: a short digest of it, safe to print and to log.
func (s *Sealer) ID() string { return hex.EncodeToString(s.id[:]) }

// Seal encrypts plaintext; context (e.g. "source/shop/key_1") is
// authenticated but not stored, so a sealed value cannot be moved to another
// row without failing to open.
func (s *Sealer) Seal(plaintext []byte, context string) ([]byte, error) {
	n := s.aead.NonceSize()
	out := make([]byte, 1+idSize+n, 1+idSize+n+len(plaintext)+s.aead.Overhead())
	out[0] = version2
	copy(out[1:], s.id[:])
	nonce := out[1+idSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return s.aead.Seal(out, nonce, plaintext, []byte(context)), nil
}

// ErrOpen means a sealed value did not authenticate: the wrong master key,
// a tampered value, or a value moved from another row.
var ErrOpen = errors.New("sealed secret does not open with this master key")

// Open decrypts a value made by Seal with the same context: one sealed
// under this key, or one of the first format (which names no key).
func (s *Sealer) Open(sealed []byte, context string) ([]byte, error) {
	body, ok := s.body(sealed)
	if !ok {
		return nil, ErrOpen
	}
	n := s.aead.NonceSize()
	if len(body) < n+s.aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := s.aead.Open(nil, body[:n], body[n:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// body returns nonce and ciphertext of sealed when this key may open it.
func (s *Sealer) body(sealed []byte) ([]byte, bool) {
	switch {
	case len(sealed) > 0 && sealed[0] == version1:
		return sealed[1:], true
	case len(sealed) > idSize && sealed[0] == version2 && [idSize]byte(sealed[1:1+idSize]) == s.id:
		return sealed[1+idSize:], true
	}
	return nil, false
}

// KeyID returns the id of the key that sealed a value, "" for a value of the
// first format (sealed before keys had ids) or one that is not sealed.
func KeyID(sealed []byte) string {
	if len(sealed) > idSize && sealed[0] == version2 {
		return hex.EncodeToString(sealed[1 : 1+idSize])
	}
	return ""
}

// ParseKey decodes a master key given as base64 (standard or URL alphabet).
func ParseKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(text); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("master key: %d bytes, want %d", len(key), KeySize)
			}
			return key, nil
		}
	}
	return nil, errors.New("master key: not base64")
}

// LoadOrCreateKeyFile reads a base64 master key from path, creating the file
// (mode 0600) with a new random key when it does not exist. Only for
// development: in production the key comes from the operator.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	raw, err := os.ReadFile(path)
	if err == nil {
		keys, err := ParseKeys(string(raw))
		if err != nil {
			return nil, false, err
		}
		return keys[0], false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("master key file: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("master key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("master key file: %w", err)
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, false, fmt.Errorf("master key file: %w", err)
	}
	return key, true, nil
}
