package ticketcode

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
)

// Key is one Ed25519 key of a keyring. A key without PrivateKey only
// verifies: a scanner's keyring holds only such keys.
type Key struct {
	ID         string
	PublicKey  ed25519.PublicKey
	PrivateKey ed25519.PrivateKey
	// Active marks the one key that signs new codes.
	Active bool
}

// GenerateKey returns a new active key named id.
func GenerateKey(id string) (Key, error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return Key{}, fmt.Errorf("generate ticket key: %w", err)
	}
	return Key{ID: id, PublicKey: pub, PrivateKey: priv, Active: true}, nil
}

// PublicKey is a key as a scanner sees it.
type PublicKey struct {
	ID     string
	Key    ed25519.PublicKey
	Active bool
}

// Keyring signs codes with its active key and verifies codes of any of its
// keys. It is immutable and safe for concurrent use; a rotation builds a new
// keyring that keeps the old keys.
type Keyring struct {
	keys   []Key
	byID   map[string]Key
	active *Key
}

// NewKeyring returns a keyring of keys. Ids must be valid and distinct; at
// most one key may be active, and it must have its private key. A private
// key must match its public key (a missing public key is derived from it).
// A keyring without an active key only verifies.
func NewKeyring(keys ...Key) (*Keyring, error) {
	k := &Keyring{byID: make(map[string]Key, len(keys))}
	for _, key := range keys {
		if !ValidKeyID(key.ID) {
			return nil, fmt.Errorf("ticket key %q: invalid id", key.ID)
		}
		if _, dup := k.byID[key.ID]; dup {
			return nil, fmt.Errorf("ticket key %q: duplicate id", key.ID)
		}
		if err := checkKeyPair(&key); err != nil {
			return nil, fmt.Errorf("ticket key %q: %w", key.ID, err)
		}
		if key.Active && k.active != nil {
			return nil, fmt.Errorf("ticket keys %q and %q are both active", k.active.ID, key.ID)
		}
		k.keys = append(k.keys, key)
		k.byID[key.ID] = key
		if key.Active {
			k.active = &k.keys[len(k.keys)-1]
		}
	}
	return k, nil
}

func checkKeyPair(key *Key) error {
	if key.PrivateKey != nil {
		if len(key.PrivateKey) != ed25519.PrivateKeySize {
			return errors.New("private key size")
		}
		pub := key.PrivateKey.Public().(ed25519.PublicKey)
		if key.PublicKey == nil {
			key.PublicKey = pub
		} else if !bytes.Equal(pub, key.PublicKey) {
			return errors.New("private key does not match public key")
		}
	} else if key.Active {
		return errors.New("an active key needs its private key")
	}
	if len(key.PublicKey) != ed25519.PublicKeySize {
		return errors.New("public key size")
	}
	return nil
}

// ActiveKeyID returns the id of the signing key, or "" when there is none.
func (k *Keyring) ActiveKeyID() string {
	if k.active == nil {
		return ""
	}
	return k.active.ID
}

// PublicKeys returns every key's public half, in the order given to NewKeyring.
func (k *Keyring) PublicKeys() []PublicKey {
	out := make([]PublicKey, len(k.keys))
	for i, key := range k.keys {
		out[i] = PublicKey{ID: key.ID, Key: bytes.Clone(key.PublicKey), Active: key.Active}
	}
	return out
}

// Issue returns the code of c signed with the active key. Ed25519 is
// deterministic: the same claims under the same key give the same code.
// It returns ErrInvalidClaims or ErrNoActiveKey.
func (k *Keyring) Issue(c Claims) (string, error) {
	if k.active == nil {
		return "", ErrNoActiveKey
	}
	if err := c.validate(); err != nil {
		return "", err
	}
	payload := appendPayload(nil, k.active.ID, c)
	sig := ed25519.Sign(k.active.PrivateKey, signedMessage(payload))
	return Prefix + b32.EncodeToString(append(payload, sig...)), nil
}

// Verify returns the claims of a code signed by one of the keyring's keys.
// It returns an error wrapping ErrMalformed, ErrUnknownKey or ErrBadSignature.
func (k *Keyring) Verify(code string) (Claims, error) {
	p, err := parse(code)
	if err != nil {
		return Claims{}, err
	}
	key, ok := k.byID[p.keyID]
	if !ok {
		return Claims{}, fmt.Errorf("%w: %q", ErrUnknownKey, p.keyID)
	}
	if !ed25519.Verify(key.PublicKey, signedMessage(p.payload), p.sig) {
		return Claims{}, fmt.Errorf("%w: key %q", ErrBadSignature, p.keyID)
	}
	return p.claims, nil
}

// KeyID returns the id of the key a well-formed code names, without
// verifying it: a scanner that meets an unknown key id fetches the keys again.
func KeyID(code string) (string, error) {
	p, err := parse(code)
	if err != nil {
		return "", err
	}
	return p.keyID, nil
}
