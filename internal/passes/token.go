package passes

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// A pass token is the capability in a pass URL: base64url (unpadded) of
//
//	version (1 byte, 1) | token id (12 bytes) | expiry (uvarint, Unix seconds)
//	| ticket id length (1 byte) | ticket id | HMAC-SHA256 (32 bytes)
//
// The HMAC, under the server's pass secret, covers "usher pass v1\x00" and
// every byte before it. Nothing is stored when a pass is made; the token id
// is what a revocation names.
const (
	tokenVersion   = 1
	tokenIDSize    = 12
	tokenMACSize   = sha256.Size
	tokenIDPrefix  = "pas_"
	maxTokenTicket = 255
)

// maxTokenLength bounds the text of a token before any decoding.
var maxTokenLength = base64.RawURLEncoding.EncodedLen(1 + tokenIDSize + binary.MaxVarintLen64 + 1 + maxTokenTicket + tokenMACSize)

var errInvalidToken = errors.New("invalid pass token")

// passToken is what a pass token carries.
type passToken struct {
	ID       string // "pas_" + 24 hex digits
	TicketID string
	Expires  time.Time // whole seconds
}

// newPassToken returns a token for the ticket, valid until expires
// (truncated to the second), with a fresh random id.
func newPassToken(key []byte, ticketID string, expires time.Time) (token string, p passToken, err error) {
	if ticketID == "" || len(ticketID) > maxTokenTicket {
		return "", passToken{}, fmt.Errorf("pass token: ticket id of %d bytes", len(ticketID))
	}
	var id [tokenIDSize]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", passToken{}, fmt.Errorf("pass token id: %w", err)
	}
	body := appendTokenBody(nil, id[:], expires.Unix(), ticketID)
	token = base64.RawURLEncoding.EncodeToString(append(body, tokenMAC(key, body)...))
	return token, passToken{ID: tokenIDPrefix + hex.EncodeToString(id[:]), TicketID: ticketID, Expires: time.Unix(expires.Unix(), 0).UTC()}, nil
}

func appendTokenBody(b, id []byte, expires int64, ticketID string) []byte {
	b = append(b, tokenVersion)
	b = append(b, id...)
	b = binary.AppendUvarint(b, uint64(expires))
	b = append(b, byte(len(ticketID)))
	return append(b, ticketID...)
}

func tokenMAC(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("usher pass v1\x00"))
	m.Write(body)
	return m.Sum(nil)
}

// parsePassToken checks a token's encoding and HMAC and returns what it
// carries; it does not look at the expiry. Any failure is errInvalidToken:
// a caller learns nothing about why a forged token failed.
func parsePassToken(key []byte, token string) (passToken, error) {
	if len(token) > maxTokenLength {
		return passToken{}, errInvalidToken
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) < 1+tokenIDSize+1+1+tokenMACSize || raw[0] != tokenVersion {
		return passToken{}, errInvalidToken
	}
	body, mac := raw[:len(raw)-tokenMACSize], raw[len(raw)-tokenMACSize:]
	if !hmac.Equal(mac, tokenMAC(key, body)) {
		return passToken{}, errInvalidToken
	}
	// Past the HMAC the body is ours; the checks below guard against a
	// change of format more than against forgery.
	id := body[1 : 1+tokenIDSize]
	rest := body[1+tokenIDSize:]
	exp, n := binary.Uvarint(rest)
	if n <= 0 || exp > 1<<62 {
		return passToken{}, errInvalidToken
	}
	rest = rest[n:]
	if len(rest) < 1 || len(rest) != 1+int(rest[0]) || rest[0] == 0 || !utf8.Valid(rest[1:]) {
		return passToken{}, errInvalidToken
	}
	ticketID := string(rest[1:])
	if !bytes.Equal(appendTokenBody(nil, id, int64(exp), ticketID), body) {
		return passToken{}, errInvalidToken
	}
	return passToken{ID: tokenIDPrefix + hex.EncodeToString(id), TicketID: ticketID, Expires: time.Unix(int64(exp), 0).UTC()}, nil
}

// validTokenID reports whether id has the form of a pass token id.
func validTokenID(id string) bool {
	h, ok := strings.CutPrefix(id, tokenIDPrefix)
	if !ok || len(h) != 2*tokenIDSize {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil && strings.ToLower(h) == h
}
