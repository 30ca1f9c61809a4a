package passes

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

var testPassKey = []byte("pass key of thirty-two bytes !!!")

func TestPassTokenRoundTrip(t *testing.T) {
	t.Parallel()
	exp := time.Date(2026, 6, 1, 20, 15, 5, 999, time.UTC)
	for _, ticket := range []string{"tkt_1", strings.Repeat("x", maxTokenTicket), "Ticket für Köln"} {
		tok, p, err := newPassToken(testPassKey, ticket, exp)
		if err != nil {
			t.Fatalf("newPassToken(%q): %v", ticket, err)
		}
		got, err := parsePassToken(testPassKey, tok)
		if err != nil || got != p || got.TicketID != ticket || !got.Expires.Equal(exp.Truncate(time.Second)) || !validTokenID(got.ID) {
			t.Fatalf("parsePassToken = %+v, %v; want %+v", got, err, p)
		}
		if len(tok) > maxTokenLength {
			t.Fatalf("token of %d chars exceeds maxTokenLength %d", len(tok), maxTokenLength)
		}
	}
	a, pa, _ := newPassToken(testPassKey, "tkt_1", exp)
	b, pb, _ := newPassToken(testPassKey, "tkt_1", exp)
	if a == b || pa.ID == pb.ID {
		t.Fatal("two passes of one ticket share a token or an id")
	}
	if _, _, err := newPassToken(testPassKey, "", exp); err == nil {
		t.Fatal("newPassToken with no ticket id succeeded")
	}
}

// TestPassTokenEveryByteMatters flips each bit of a token: none survives.
func TestPassTokenEveryByteMatters(t *testing.T) {
	t.Parallel()
	tok, _, err := newPassToken(testPassKey, "tkt_1", time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		for bit := range 8 {
			b := bytes.Clone(raw)
			b[i] ^= 1 << bit
			if p, err := parsePassToken(testPassKey, base64.RawURLEncoding.EncodeToString(b)); !errors.Is(err, errInvalidToken) {
				t.Fatalf("byte %d bit %d flipped: parsePassToken = %+v, %v", i, bit, p, err)
			}
		}
	}
	if _, err := parsePassToken([]byte("another key"), tok); !errors.Is(err, errInvalidToken) {
		t.Fatalf("token under another key = %v", err)
	}
}

// FuzzParsePassToken checks that parsing never panics and that only tokens
// made with the key parse: a parsed token re-encodes to the same text.
func FuzzParsePassToken(f *testing.F) {
	tok, _, _ := newPassToken(testPassKey, "tkt_1", time.Unix(1_800_000_000, 0))
	f.Add(tok)
	f.Add("")
	f.Add("AQ")
	f.Add(strings.Repeat("A", 80))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePassToken(testPassKey, s)
		if err != nil {
			return
		}
		raw, _ := base64.RawURLEncoding.DecodeString(s)
		body := raw[:len(raw)-tokenMACSize]
		if !bytes.Equal(tokenMAC(testPassKey, body), raw[len(raw)-tokenMACSize:]) || p.TicketID == "" {
			t.Fatalf("parsed %q without its MAC: %+v", s, p)
		}
	})
}

func TestValidTokenID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"pas_0123456789abcdef01234567":  true,
		"pas_0123456789ABCDEF01234567":  false,
		"pas_0123456789abcdef0123456":   false,
		"pas_0123456789abcdef012345678": false,
		"pas_0123456789abcdef0123456g":  false,
		"tok_0123456789abcdef01234567":  false,
		"":                              false,
	} {
		if got := validTokenID(id); got != want {
			t.Errorf("validTokenID(%q) = %v, want %v", id, got, want)
		}
	}
}
