package ticketcode_test

import (
	"crypto/ed25519"
	"encoding/base32"
	"errors"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/ticketcode"
)

// fixedKey returns a key made from a fixed seed, so that codes in tests and
// fuzz seeds are stable.
func fixedKey(id string, seed byte, active bool) ticketcode.Key {
	priv := ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune('a'+seed)), ed25519.SeedSize)))
	return ticketcode.Key{ID: id, PrivateKey: priv, Active: active}
}

func mustKeyring(t testing.TB, keys ...ticketcode.Key) *ticketcode.Keyring {
	t.Helper()
	k, err := ticketcode.NewKeyring(keys...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func mustIssue(t testing.TB, k *ticketcode.Keyring, c ticketcode.Claims) string {
	t.Helper()
	code, err := k.Issue(c)
	if err != nil {
		t.Fatalf("Issue(%+v): %v", c, err)
	}
	return code
}

var claims = ticketcode.Claims{TicketID: "tkt_0123456789abcdef01234567", ShowID: "show_demo", VenueID: "venue_demo", Generation: 1}

// setup returns the keyring of a deployment that rotated once: key "1"
// retired but kept, key "2" active.
func setup(t testing.TB) (rotated *ticketcode.Keyring, before *ticketcode.Keyring) {
	before = mustKeyring(t, fixedKey("1", 1, true))
	rotated = mustKeyring(t, fixedKey("1", 1, false), fixedKey("2", 2, true))
	return rotated, before
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	k, _ := setup(t)
	for _, c := range []ticketcode.Claims{
		claims,
		{TicketID: "t", ShowID: "s", VenueID: "v", Generation: 1},
		{TicketID: strings.Repeat("x", ticketcode.MaxIDLength), ShowID: "Konzert in Köln 🎻", VenueID: "v.1 2", Generation: ticketcode.MaxGeneration},
		{TicketID: "tkt_1", ShowID: "show_1", VenueID: "venue_1", Generation: 300},
	} {
		code := mustIssue(t, k, c)
		got, err := k.Verify(code)
		if err != nil || got != c {
			t.Errorf("Verify(Issue(%+v)) = %+v, %v; want the claims", c, got, err)
		}
		if len(code) > ticketcode.MaxLength {
			t.Errorf("code of %d chars exceeds MaxLength %d", len(code), ticketcode.MaxLength)
		}
		if again := mustIssue(t, k, c); again != code {
			t.Errorf("Issue is not deterministic: %q then %q", code, again)
		}
	}
}

func TestCodeIsQRAlphanumeric(t *testing.T) {
	t.Parallel()
	k, _ := setup(t)
	code := mustIssue(t, k, claims)
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	for _, r := range code {
		if !strings.ContainsRune(alnum, r) {
			t.Fatalf("code %q has %q, outside the QR alphanumeric set", code, r)
		}
	}
	t.Logf("typical code: %d bytes: %s", len(code), code)
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	k, _ := setup(t)
	code := mustIssue(t, k, claims)
	other := mustKeyring(t, fixedKey("2", 9, true)) // same key id, another key
	forgedSameID := mustIssue(t, other, claims)
	unknown := mustIssue(t, mustKeyring(t, fixedKey("3", 3, true)), claims)

	// tamper changes the claims inside a genuine code and keeps its signature.
	tamper := func(c ticketcode.Claims) string {
		genuine, changed := decode(t, code), decode(t, mustIssue(t, k, c))
		forged := append(changed[:len(changed)-ed25519.SignatureSize], genuine[len(genuine)-ed25519.SignatureSize:]...)
		return ticketcode.Prefix + b32.EncodeToString(forged)
	}
	flipped := []byte(code)
	flipped[len(flipped)-1] = map[bool]byte{true: 'B', false: 'A'}[flipped[len(flipped)-1] == 'A']

	for _, tc := range []struct {
		name string
		code string
		want error
	}{
		{"empty", "", ticketcode.ErrMalformed},
		{"legacy random code", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", ticketcode.ErrMalformed},
		{"prefix only", ticketcode.Prefix, ticketcode.ErrMalformed},
		{"lower case", strings.ToLower(code), ticketcode.ErrMalformed},
		{"padding", code + "=", ticketcode.ErrMalformed},
		{"newline inside", code[:20] + "\n" + code[20:], ticketcode.ErrMalformed},
		{"truncated", code[:len(code)-1], ticketcode.ErrMalformed},
		{"too long", ticketcode.Prefix + strings.Repeat("A", ticketcode.MaxLength), ticketcode.ErrMalformed},
		{"wrong version", "UT2." + strings.TrimPrefix(code, ticketcode.Prefix), ticketcode.ErrMalformed},
		{"unknown key", unknown, ticketcode.ErrUnknownKey},
		{"same key id, other key", forgedSameID, ticketcode.ErrBadSignature},
		{"signature bit flipped", string(flipped), ticketcode.ErrBadSignature},
		{"tampered ticket", tamper(ticketcode.Claims{TicketID: "tkt_0123456789abcdef01234568", ShowID: claims.ShowID, VenueID: claims.VenueID, Generation: 1}), ticketcode.ErrBadSignature},
		{"tampered venue", tamper(ticketcode.Claims{TicketID: claims.TicketID, ShowID: claims.ShowID, VenueID: "venue_demx", Generation: 1}), ticketcode.ErrBadSignature},
		{"tampered generation", tamper(ticketcode.Claims{TicketID: claims.TicketID, ShowID: claims.ShowID, VenueID: claims.VenueID, Generation: 2}), ticketcode.ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := k.Verify(tc.code)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %+v, %v; want %v", got, err, tc.want)
			}
			if got != (ticketcode.Claims{}) {
				t.Fatalf("Verify returned claims %+v with an error", got)
			}
		})
	}
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// decode returns the bytes of a code: payload, then signature.
func decode(t testing.TB, code string) []byte {
	t.Helper()
	raw, err := b32.DecodeString(strings.TrimPrefix(code, ticketcode.Prefix))
	if err != nil {
		t.Fatalf("decode %q: %v", code, err)
	}
	return raw
}

func TestRotationKeepsIssuedCodesValid(t *testing.T) {
	t.Parallel()
	rotated, before := setup(t)
	old := mustIssue(t, before, claims) // issued before the rotation, under key 1
	if id, _ := ticketcode.KeyID(old); id != "1" {
		t.Fatalf("KeyID(old) = %q, want 1", id)
	}
	got, err := rotated.Verify(old)
	if err != nil || got != claims {
		t.Fatalf("after rotation Verify(old code) = %+v, %v; want it valid", got, err)
	}
	fresh := mustIssue(t, rotated, claims)
	if id, _ := ticketcode.KeyID(fresh); id != "2" || fresh == old {
		t.Fatalf("after rotation a new code is signed by %q (%q), want key 2", id, fresh)
	}
	// A scanner that has only the old public keys refuses the new key by
	// name, so it knows to fetch the keys again.
	if _, err := before.Verify(fresh); !errors.Is(err, ticketcode.ErrUnknownKey) {
		t.Fatalf("old keyring Verify(new code) = %v, want ErrUnknownKey", err)
	}
}

func TestVerifyOnlyKeyring(t *testing.T) {
	t.Parallel()
	rotated, _ := setup(t)
	var pubs []ticketcode.Key
	for _, p := range rotated.PublicKeys() {
		pubs = append(pubs, ticketcode.Key{ID: p.ID, PublicKey: p.Key})
	}
	scanner := mustKeyring(t, pubs...)
	code := mustIssue(t, rotated, claims)
	if got, err := scanner.Verify(code); err != nil || got != claims {
		t.Fatalf("public-key keyring Verify = %+v, %v", got, err)
	}
	if _, err := scanner.Issue(claims); !errors.Is(err, ticketcode.ErrNoActiveKey) {
		t.Fatalf("public-key keyring Issue = %v, want ErrNoActiveKey", err)
	}
	if id := scanner.ActiveKeyID(); id != "" {
		t.Fatalf("ActiveKeyID = %q, want none", id)
	}
}

func TestPublicKeys(t *testing.T) {
	t.Parallel()
	rotated, _ := setup(t)
	pubs := rotated.PublicKeys()
	if len(pubs) != 2 || pubs[0].ID != "1" || pubs[0].Active || pubs[1].ID != "2" || !pubs[1].Active {
		t.Fatalf("PublicKeys = %+v, want 1 retired then 2 active", pubs)
	}
	pubs[0].Key[0] ^= 0xff // a caller's change must not reach the keyring
	if _, err := rotated.Verify(mustIssue(t, mustKeyring(t, fixedKey("1", 1, true)), claims)); err != nil {
		t.Fatalf("Verify after mutating PublicKeys' result: %v", err)
	}
	if rotated.ActiveKeyID() != "2" {
		t.Fatalf("ActiveKeyID = %q, want 2", rotated.ActiveKeyID())
	}
}

func TestIssueRefusesInvalidClaims(t *testing.T) {
	t.Parallel()
	k, _ := setup(t)
	for _, c := range []ticketcode.Claims{
		{ShowID: "s", VenueID: "v", Generation: 1},
		{TicketID: "t", VenueID: "v", Generation: 1},
		{TicketID: "t", ShowID: "s", Generation: 1},
		{TicketID: "t", ShowID: "s", VenueID: "v"},
		{TicketID: "t", ShowID: "s", VenueID: "v", Generation: -1},
		{TicketID: "t", ShowID: "s", VenueID: "v", Generation: ticketcode.MaxGeneration + 1},
		{TicketID: strings.Repeat("x", ticketcode.MaxIDLength+1), ShowID: "s", VenueID: "v", Generation: 1},
		{TicketID: "\xff", ShowID: "s", VenueID: "v", Generation: 1},
	} {
		if code, err := k.Issue(c); !errors.Is(err, ticketcode.ErrInvalidClaims) {
			t.Errorf("Issue(%+v) = %q, %v; want ErrInvalidClaims", c, code, err)
		}
	}
}

func TestNewKeyringRefuses(t *testing.T) {
	t.Parallel()
	a, b := fixedKey("1", 1, true), fixedKey("2", 2, true)
	mismatch := fixedKey("3", 3, false)
	mismatch.PublicKey = b.PrivateKey.Public().(ed25519.PublicKey)
	for name, keys := range map[string][]ticketcode.Key{
		"two active":          {a, b},
		"duplicate id":        {a, fixedKey("1", 2, false)},
		"invalid id":          {fixedKey("a.b", 1, true)},
		"long id":             {fixedKey(strings.Repeat("k", ticketcode.MaxKeyIDLength+1), 1, true)},
		"active without priv": {{ID: "1", PublicKey: a.PrivateKey.Public().(ed25519.PublicKey), Active: true}},
		"pair mismatch":       {mismatch},
		"short public key":    {{ID: "1", PublicKey: make([]byte, 31)}},
	} {
		if _, err := ticketcode.NewKeyring(keys...); err == nil {
			t.Errorf("NewKeyring(%s) succeeded, want an error", name)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	key, err := ticketcode.GenerateKey("7")
	if err != nil {
		t.Fatal(err)
	}
	k := mustKeyring(t, key)
	if got, err := k.Verify(mustIssue(t, k, claims)); err != nil || got != claims {
		t.Fatalf("generated key round trip = %+v, %v", got, err)
	}
}

// TestOneTextPerCode checks that a genuine code cannot be varied into
// another string that also verifies: scanners and the store compare codes as
// strings and hash them.
func TestOneTextPerCode(t *testing.T) {
	t.Parallel()
	key := fixedKey("1", 1, true)
	k := mustKeyring(t, key)
	code := mustIssue(t, k, claims)
	raw := decode(t, code)

	// The last base32 character may carry unused bits; setting them decodes
	// to the same bytes.
	last := code[len(code)-1]
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" {
		variant := code[:len(code)-1] + string(c)
		if byte(c) == last {
			continue
		}
		if got, err := b32.DecodeString(strings.TrimPrefix(variant, ticketcode.Prefix)); err == nil && string(got) == string(raw) {
			if _, err := k.Verify(variant); !errors.Is(err, ticketcode.ErrMalformed) {
				t.Fatalf("Verify(%q with other unused bits) = %v, want ErrMalformed", variant, err)
			}
		}
	}

	// A payload with an overlong varint, genuinely signed, is still refused:
	// only the canonical encoding of claims is a code.
	payload := []byte{1, '1', 0x81, 0x00} // generation 1 in two bytes
	for _, s := range []string{claims.TicketID, claims.ShowID, claims.VenueID} {
		payload = append(append(payload, byte(len(s))), s...)
	}
	sig := ed25519.Sign(key.PrivateKey, append([]byte(ticketcode.Prefix), payload...))
	overlong := ticketcode.Prefix + b32.EncodeToString(append(payload, sig...))
	if _, err := k.Verify(overlong); !errors.Is(err, ticketcode.ErrMalformed) {
		t.Fatalf("Verify(overlong varint) = %v, want ErrMalformed", err)
	}
}
