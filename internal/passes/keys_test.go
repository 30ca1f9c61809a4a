package passes_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/passes"
	"github.com/usherhq/usher/internal/ticketcode"
)

type keyList struct {
	Format    string           `json:"format"`
	Algorithm string           `json:"algorithm"`
	Keys      []passes.KeyInfo `json:"keys"`
}

// scannerKeyring builds what an offline scanner holds: a verify-only
// keyring from GET /v1/ticket-keys.
func scannerKeyring(t *testing.T, list keyList) *ticketcode.Keyring {
	t.Helper()
	var keys []ticketcode.Key
	for _, k := range list.Keys {
		pub, err := base64.RawURLEncoding.DecodeString(k.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			t.Fatalf("public key %q: %v", k.PublicKey, err)
		}
		keys = append(keys, ticketcode.Key{ID: k.KeyID, PublicKey: pub})
	}
	ring, err := ticketcode.NewKeyring(keys...)
	if err != nil {
		t.Fatalf("scanner keyring: %v", err)
	}
	return ring
}

func TestRotationKeepsIssuedCodesVerifying(t *testing.T) {
	t.Parallel()
	e := setup(t)
	scanner := e.token("scanner:venue_demo")
	old := e.ticket("tkt_before")

	// Another process of the same deployment, loaded before the rotation.
	other, err := passes.LoadCodes(t.Context(), e.db, e.clock.Now)
	if err != nil {
		t.Fatalf("LoadCodes: %v", err)
	}

	var before keyList
	e.json(http.MethodGet, "/v1/ticket-keys", scanner, nil, &before, http.StatusOK)
	if before.Format != "UT1" || before.Algorithm != "Ed25519" || len(before.Keys) != 1 || before.Keys[0].State != "active" {
		t.Fatalf("keys before rotation = %+v, want one active Ed25519 key", before)
	}
	var rotated passes.KeyInfo
	e.json(http.MethodPost, "/v1/ticket-keys:rotate", e.token("tickets:write"), nil, &rotated, http.StatusCreated)
	if rotated.KeyID == before.Keys[0].KeyID || rotated.State != "active" {
		t.Fatalf("rotate = %+v, want a new active key", rotated)
	}
	fresh := e.ticket("tkt_after")
	if id, _ := ticketcode.KeyID(fresh.Code); id != rotated.KeyID {
		t.Fatalf("a code minted after the rotation names key %q, want %q", id, rotated.KeyID)
	}

	var after keyList
	e.json(http.MethodGet, "/v1/ticket-keys", scanner, nil, &after, http.StatusOK)
	if len(after.Keys) != 2 || after.Keys[0].State != "retired" || after.Keys[1].KeyID != rotated.KeyID {
		t.Fatalf("keys after rotation = %+v, want the old one retired and the new one", after)
	}
	ring := scannerKeyring(t, after)
	for _, tk := range []usher.Ticket{old, fresh} {
		c, err := ring.Verify(tk.Code)
		if err != nil || c.TicketID != tk.TicketID || c.VenueID != "venue_demo" || c.Generation != 1 {
			t.Errorf("offline Verify(%s) = %+v, %v; want its claims", tk.TicketID, c, err)
		}
	}
	// The scanner that fetched the keys before the rotation meets an
	// unknown key id: its cue to fetch them again.
	if _, err := scannerKeyring(t, before).Verify(fresh.Code); !errors.Is(err, ticketcode.ErrUnknownKey) {
		t.Fatalf("old key list Verify(new code) = %v, want ErrUnknownKey", err)
	}
	// The other process reads the new key when it first meets it.
	if c, err := other.Verify(t.Context(), fresh.Code); err != nil || c.TicketID != fresh.TicketID {
		t.Fatalf("other process Verify(new code) = %+v, %v; want it to load the new key", c, err)
	}
	if _, err := other.Verify(t.Context(), old.Code); err != nil {
		t.Fatalf("other process Verify(old code): %v", err)
	}
}

func TestKeyRoutesNeedTheirScopes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	orders := e.token("orders:read")
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{http.MethodGet, "/v1/ticket-keys", "", http.StatusUnauthorized},
		{http.MethodGet, "/v1/ticket-keys", orders, http.StatusForbidden},
		{http.MethodGet, "/v1/ticket-keys", e.token("scanner:any_venue"), http.StatusOK},
		{http.MethodPost, "/v1/ticket-keys:rotate", e.token("scanner:venue_demo"), http.StatusForbidden},
		{http.MethodPost, "/v1/ticket-keys:rotate", orders, http.StatusForbidden},
		{http.MethodGet, "/v1/venues/venue_demo/display-key", e.token("scanner:venue_other"), http.StatusForbidden},
		{http.MethodGet, "/v1/venues/venue_demo/display-key", e.token("scanner:venue_demo"), http.StatusOK},
		{http.MethodGet, "/v1/tickets/tkt_x/display-code", e.token("scanner:venue_demo"), http.StatusForbidden},
		{http.MethodPost, "/v1/tickets/tkt_x/pass-url", e.token("tickets:write"), http.StatusForbidden},
		{http.MethodDelete, "/v1/passes/pas_000000000000000000000000", orders, http.StatusForbidden},
		{http.MethodPut, "/v1/shows/show_demo/settings", e.token("inventory:read"), http.StatusForbidden},
		{http.MethodGet, "/v1/shows/show_demo/settings", orders, http.StatusForbidden},
	} {
		if status, _, b := e.do(c.method, c.path, c.token, nil); status != c.want {
			t.Errorf("%s %s = %d %s, want %d", c.method, c.path, status, b, c.want)
		}
	}
}

func TestLoadCodesAgreesAcrossProcesses(t *testing.T) {
	t.Parallel()
	e := setup(t)
	other, err := passes.LoadCodes(t.Context(), e.db, e.clock.Now)
	if err != nil {
		t.Fatalf("LoadCodes: %v", err)
	}
	if len(other.Keys()) != 1 || other.Keys()[0] != e.svc.Codes().Keys()[0] {
		t.Fatalf("a second load made keys %+v, want the first process's %+v", other.Keys(), e.svc.Codes().Keys())
	}
	tk := e.ticket("tkt_1")
	a, _ := e.svc.Codes().DisplayCode(tk, e.clock.Now())
	b, _ := other.DisplayCode(tk, e.clock.Now())
	if a != b {
		t.Fatalf("two processes derive display codes %q and %q, want one", a, b)
	}
}
