package server_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/passes"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ticketcode"
	"github.com/usherhq/usher/internal/ushertest"
)

// TestTicketCodesAndPassesEndToEnd runs the ticket-code features in the
// whole program: a code verified offline with the published keys, before and
// after a key rotation; a display code accepted inside its window, refused
// when replayed and when stale; a pass URL served publicly as JSON and PNG,
// and refused when forged (401), expired, revoked or of a revoked ticket (410).
func TestTicketCodesAndPassesEndToEnd(t *testing.T) {
	t.Parallel()
	clock := ushertest.NewClock(time.Date(2026, 6, 1, 20, 0, 5, 0, time.UTC))
	s := ushertest.Start(t, ushertest.WithClock(clock))
	ctx := t.Context()

	// Usher made its first signing key at start; a second reader of the
	// store (as another process would be) finds it and mints a ticket.
	codes, err := passes.LoadCodes(ctx, s.Store(), clock.Now)
	if err != nil {
		t.Fatalf("LoadCodes: %v", err)
	}
	if len(codes.Keys()) != 1 {
		t.Fatalf("keys after start = %+v, want the one usher created", codes.Keys())
	}
	tk := insertSignedTicket(t, s, codes, "tkt_e2e_1")

	// Offline verification with the published keys, across a rotation.
	scanner := passesToken(t, s, "scanner:venue_e2e")
	ring := publishedKeys(t, s, scanner)
	if c, err := ring.Verify(tk.Code); err != nil || c.TicketID != tk.TicketID || c.VenueID != "venue_e2e" {
		t.Fatalf("offline Verify = %+v, %v", c, err)
	}
	var rotated passes.KeyInfo
	if status := s.Admin(http.MethodPost, "/v1/ticket-keys:rotate", "", nil, &rotated); status != http.StatusCreated {
		t.Fatalf("rotate = %d", status)
	}
	ring = publishedKeys(t, s, scanner)
	if _, err := ring.Verify(tk.Code); err != nil {
		t.Fatalf("a code of the retired key after rotation: %v", err)
	}
	if ring.PublicKeys()[1].ID != rotated.KeyID {
		t.Fatalf("published keys %+v, want the rotated key %s last", ring.PublicKeys(), rotated.KeyID)
	}

	// A display code, checked as the scanner will check it.
	var shown struct {
		Code       string    `json:"code"`
		ValidUntil time.Time `json:"valid_until"`
	}
	if status := s.Admin(http.MethodGet, "/v1/tickets/"+tk.TicketID+"/display-code", "", nil, &shown); status != http.StatusOK {
		t.Fatalf("display-code = %d", status)
	}
	gate := func(scanned, nonce string) error {
		_, otp := ticketcode.SplitDisplay(scanned)
		var checked error
		err := s.Store().InTx(ctx, func(tx *store.Tx) error {
			checked = codes.CheckPresented(ctx, tx, tk, otp, nonce, clock.Now())
			return nil
		})
		return errors.Join(err, checked)
	}
	if err := gate(shown.Code, "n1"); err != nil {
		t.Fatalf("display code inside its window: %v", err)
	}
	if err := gate(shown.Code, "n2"); !errors.Is(err, ticketcode.ErrReplayedCode) {
		t.Fatalf("display code at a second scan = %v, want ErrReplayedCode", err)
	}
	clock.Advance(90 * time.Second)
	if err := gate(shown.Code, "n3"); !errors.Is(err, ticketcode.ErrStaleCode) {
		t.Fatalf("display code 90 s later = %v, want ErrStaleCode", err)
	}

	// Pass URLs: public, with their refusals as problems.
	newPass := func(query string) (url, tokenID string) {
		var p struct {
			URL     string `json:"url"`
			TokenID string `json:"token_id"`
		}
		if status := s.Admin(http.MethodPost, "/v1/tickets/"+tk.TicketID+"/pass-url"+query, "", nil, &p); status != http.StatusCreated {
			t.Fatalf("pass-url%s = %d", query, status)
		}
		return p.URL, p.TokenID
	}
	get := func(url string, accept string) (int, string, []byte) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b.Bytes()
	}
	wantGone := func(what, url string, status int, code usher.Code) {
		t.Helper()
		got, ct, b := get(url, "")
		var d problem.Details
		_ = json.Unmarshal(b, &d)
		if got != status || ct != problem.ContentType || d.Code != string(code) {
			t.Fatalf("%s = %d %s %s, want %d %s", what, got, ct, b, status, code)
		}
	}

	url, tokenID := newPass("")
	if !strings.HasPrefix(url, s.URL()+"/passes/") {
		t.Fatalf("pass url %q is not under %s/passes/", url, s.URL())
	}
	if status, ct, b := get(url, ""); status != http.StatusOK || ct != "application/json" || !bytes.Contains(b, []byte(tk.TicketID)) {
		t.Fatalf("GET pass = %d %s %s", status, ct, b)
	}
	status, ct, b := get(url, "image/png")
	if status != http.StatusOK || ct != "image/png" {
		t.Fatalf("GET pass as PNG = %d %s", status, ct)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("pass PNG: %v", err)
	}
	wantGone("forged pass", url[:len(url)-3]+"AAA", http.StatusUnauthorized, passes.CodeInvalidPass)

	req, _ := http.NewRequest(http.MethodDelete, s.URL()+"/v1/passes/"+tokenID, nil)
	req.Header.Set("Authorization", "Bearer "+ushertest.AdminToken)
	if status, b := s.Do(req); status != http.StatusNoContent {
		t.Fatalf("DELETE pass = %d %s", status, b)
	}
	wantGone("revoked pass", url, http.StatusGone, passes.CodePassRevoked)

	short, _ := newPass("?ttl=1m")
	clock.Advance(time.Minute)
	wantGone("expired pass", short, http.StatusGone, passes.CodePassExpired)

	live, _ := newPass("")
	if err := s.Store().InTx(ctx, func(tx *store.Tx) error {
		return tx.SwapTicketStatus(ctx, tk.TicketID, usher.TicketValid, usher.TicketRevoked)
	}); err != nil {
		t.Fatalf("revoke ticket: %v", err)
	}
	wantGone("pass of a revoked ticket", live, http.StatusGone, passes.CodeTicketRevoked)
}

// insertSignedTicket stores a paid order with one ticket whose code the
// given authority signs.
func insertSignedTicket(t *testing.T, s *ushertest.Server, codes *passes.Codes, id string) usher.Ticket {
	t.Helper()
	c := ticketcode.Claims{TicketID: id, ShowID: "show_e2e", VenueID: "venue_e2e", Generation: 1}
	code, err := codes.Issue(c)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	tk := usher.Ticket{TicketID: id, OrderID: "ord_" + id, ShowID: c.ShowID, VenueID: c.VenueID, TicketType: "GA",
		Status: usher.TicketValid, Code: code, Generation: 1}
	err = s.Store().InTx(t.Context(), func(tx *store.Tx) error {
		o := usher.Order{OrderID: tk.OrderID, ShowID: tk.ShowID, VenueID: tk.VenueID, Status: usher.OrderPaid,
			Items: []usher.Item{{TicketType: "GA", Quantity: 1}}}
		if err := tx.InsertOrder(t.Context(), o, usher.Buyer{}); err != nil {
			return err
		}
		return tx.InsertTicket(t.Context(), tk)
	})
	if err != nil {
		t.Fatalf("insert ticket: %v", err)
	}
	return tk
}

// publishedKeys fetches GET /v1/ticket-keys as a scanner and builds the
// verify-only keyring an offline scanner holds.
func publishedKeys(t *testing.T, s *ushertest.Server, token string) *ticketcode.Keyring {
	t.Helper()
	var list struct {
		Keys []passes.KeyInfo `json:"keys"`
	}
	if status := s.Admin(http.MethodGet, "/v1/ticket-keys", token, nil, &list); status != http.StatusOK {
		t.Fatalf("GET /v1/ticket-keys = %d", status)
	}
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
		t.Fatalf("keyring: %v", err)
	}
	return ring
}

// passesToken issues a token with the scopes through the admin API.
func passesToken(t *testing.T, s *ushertest.Server, scopes ...string) string {
	t.Helper()
	var created struct {
		Token string `json:"token"`
	}
	if status := s.Admin(http.MethodPost, "/v1/tokens", "", map[string]any{"scopes": scopes}, &created); status != http.StatusCreated {
		t.Fatalf("create token %v: %d", scopes, status)
	}
	return created.Token
}
