// Package ticketcode makes and checks ticket codes: compact tokens, signed
// with Ed25519, that a scanner verifies offline with nothing but the public
// keys. A keyring holds one active key that signs and any number of older
// keys that still verify, so rotating the signing key never invalidates a
// ticket already issued. The package also derives the rotating display codes
// (display.go). docs/ticket-codes.md specifies both formats.
//
// The package is pure: the standard library only, no I/O, no clock of its own.
package ticketcode

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Prefix starts every ticket code of this format. It is signed too, so a
// later format cannot be confused with this one.
const Prefix = "UT1."

// Limits of the fields of a code. They bound a code's length (MaxLength) and
// so the work a forged code can cause.
const (
	MaxKeyIDLength = 16
	MaxIDLength    = 128
	MaxGeneration  = 1<<31 - 1
)

// MaxLength is the length of the longest code this format can produce.
var MaxLength = len(Prefix) + b32.EncodedLen(1+MaxKeyIDLength+binary.MaxVarintLen32+3*(1+MaxIDLength)+ed25519.SignatureSize)

// b32 is the text encoding: RFC 4648 base32 without padding. Its alphabet
// (A–Z, 2–7) and the prefix fit the QR alphanumeric mode, 5.5 bits a
// character against 8 in byte mode.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Errors of Verify and Issue. Verify wraps them with detail; test with errors.Is.
var (
	// ErrMalformed: not a code of this format (or not canonically encoded).
	ErrMalformed = errors.New("malformed ticket code")
	// ErrUnknownKey: signed under a key id the keyring does not hold.
	ErrUnknownKey = errors.New("ticket code signed by an unknown key")
	// ErrBadSignature: the signature does not verify under the named key.
	ErrBadSignature = errors.New("ticket code signature does not verify")
	// ErrNoActiveKey: Issue on a keyring without an active key.
	ErrNoActiveKey = errors.New("no active signing key")
	// ErrInvalidClaims: Issue of claims that cannot be encoded.
	ErrInvalidClaims = errors.New("invalid ticket code claims")
)

// Claims is what a ticket code asserts.
type Claims struct {
	TicketID string `json:"ticket_id"`
	ShowID   string `json:"show_id"`
	VenueID  string `json:"venue_id"`
	// Generation is the ticket's issue generation: 1 at mint, one more on
	// every transfer or reinstatement. A code of an older generation than
	// the ticket's is refused by the online check.
	Generation int `json:"generation"`
}

// validate checks that c can be encoded: ids of 1 to MaxIDLength bytes of
// valid UTF-8 and a generation from 1 to MaxGeneration.
func (c Claims) validate() error {
	for _, f := range [...]struct{ name, v string }{{"ticket_id", c.TicketID}, {"show_id", c.ShowID}, {"venue_id", c.VenueID}} {
		if f.v == "" || len(f.v) > MaxIDLength || !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: %s must be 1 to %d bytes of UTF-8", ErrInvalidClaims, f.name, MaxIDLength)
		}
	}
	if c.Generation < 1 || c.Generation > MaxGeneration {
		return fmt.Errorf("%w: generation %d out of 1..%d", ErrInvalidClaims, c.Generation, MaxGeneration)
	}
	return nil
}

// ValidKeyID reports whether id can name a key: 1 to MaxKeyIDLength of
// A–Z, a–z, 0–9, '_' and '-'.
func ValidKeyID(id string) bool {
	if id == "" || len(id) > MaxKeyIDLength {
		return false
	}
	for _, r := range []byte(id) {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// appendPayload appends the signed body of a code: key id, generation, then
// ticket, show and venue ids, each string prefixed by its length in one byte.
func appendPayload(b []byte, keyID string, c Claims) []byte {
	b = append(b, byte(len(keyID)))
	b = append(b, keyID...)
	b = binary.AppendUvarint(b, uint64(c.Generation))
	for _, s := range [...]string{c.TicketID, c.ShowID, c.VenueID} {
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return b
}

// signedMessage is what the signature covers: the prefix, then the payload.
func signedMessage(payload []byte) []byte {
	return append([]byte(Prefix), payload...)
}

// parsed is a code split into its parts, not yet verified.
type parsed struct {
	keyID   string
	claims  Claims
	payload []byte
	sig     []byte
}

// parse decodes a code. Exactly one text encodes a given payload and
// signature: non-canonical base32 and varints are refused, so a code cannot
// be varied into another string that also verifies.
func parse(code string) (parsed, error) {
	body, ok := bytes.CutPrefix([]byte(code), []byte(Prefix))
	if !ok {
		return parsed{}, fmt.Errorf("%w: no %q prefix", ErrMalformed, Prefix)
	}
	if len(code) > MaxLength {
		return parsed{}, fmt.Errorf("%w: longer than %d", ErrMalformed, MaxLength)
	}
	raw, err := b32.DecodeString(string(body))
	if err != nil || b32.EncodeToString(raw) != string(body) {
		return parsed{}, fmt.Errorf("%w: not canonical base32", ErrMalformed)
	}
	if len(raw) < ed25519.SignatureSize {
		return parsed{}, fmt.Errorf("%w: too short", ErrMalformed)
	}
	p := parsed{payload: raw[:len(raw)-ed25519.SignatureSize], sig: raw[len(raw)-ed25519.SignatureSize:]}
	if p.keyID, p.claims, err = parsePayload(p.payload); err != nil {
		return parsed{}, err
	}
	return p, nil
}

func parsePayload(b []byte) (keyID string, c Claims, err error) {
	r := reader{b: b}
	keyID = r.str()
	gen := r.uvarint()
	c = Claims{TicketID: r.str(), ShowID: r.str(), VenueID: r.str()}
	if r.bad || len(r.b) != 0 || gen > MaxGeneration {
		return "", Claims{}, fmt.Errorf("%w: bad payload", ErrMalformed)
	}
	c.Generation = int(gen)
	if !ValidKeyID(keyID) || c.validate() != nil || !bytes.Equal(appendPayload(nil, keyID, c), b) {
		return "", Claims{}, fmt.Errorf("%w: bad payload", ErrMalformed)
	}
	return keyID, c, nil
}

// reader consumes a payload; bad is set on the first short read.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) str() string {
	if r.bad || len(r.b) < 1 || len(r.b) < 1+int(r.b[0]) {
		r.bad = true
		return ""
	}
	n := int(r.b[0])
	s := string(r.b[1 : 1+n])
	r.b = r.b[1+n:]
	return s
}

func (r *reader) uvarint() uint64 {
	if r.bad {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}
