package passes_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/passes"
)

type passURL struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
	TokenID   string    `json:"token_id"`
}

type passView struct {
	TicketID          string    `json:"ticket_id"`
	ShowID            string    `json:"show_id"`
	VenueID           string    `json:"venue_id"`
	Status            string    `json:"status"`
	Code              string    `json:"code"`
	DisplayCode       string    `json:"display_code"`
	DisplayValidUntil time.Time `json:"display_valid_until"`
	StaticCodeAllowed bool      `json:"static_code_allowed"`
	GateCode          string    `json:"gate_code"`
	ExpiresAt         time.Time `json:"expires_at"`
}

func (e *env) passURL(ticketID, query string) passURL {
	e.t.Helper()
	var p passURL
	e.json(http.MethodPost, "/v1/tickets/"+ticketID+"/pass-url"+query, e.token("orders:read"), nil, &p, http.StatusCreated)
	return p
}

func TestPassURLServesJSONAndPNG(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	p := e.passURL(tk.TicketID, "")
	if !strings.HasPrefix(p.URL, e.srv.URL+"/passes/") || !p.ExpiresAt.Equal(e.clock.Now().Add(15*time.Minute).Truncate(time.Second)) ||
		!strings.HasPrefix(p.TokenID, "pas_") {
		t.Fatalf("pass url = %+v, want %s/passes/… expiring in 15 minutes", p, e.srv.URL)
	}

	status, h, b := e.do(http.MethodGet, p.URL, "", nil)
	if status != http.StatusOK || h.Get("Content-Type") != "application/json" {
		t.Fatalf("GET pass = %d %s %s, want JSON", status, h.Get("Content-Type"), b)
	}
	for _, k := range []string{"Cache-Control", "Referrer-Policy"} {
		if v := h.Get(k); v != map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}[k] {
			t.Errorf("%s = %q", k, v)
		}
	}
	var v passView
	e.decode(b, &v)
	display, _ := e.svc.Codes().DisplayCode(tk, e.clock.Now())
	if v.TicketID != tk.TicketID || v.Code != tk.Code || v.Status != "valid" || v.DisplayCode != display ||
		v.GateCode != display || v.StaticCodeAllowed || !v.ExpiresAt.Equal(p.ExpiresAt) {
		t.Fatalf("pass = %+v, want ticket %s with its display code as the gate code", v, tk.TicketID)
	}
	if bytes.Contains(b, []byte("buyer")) || bytes.Contains(b, []byte("email")) {
		t.Fatalf("pass carries personal data: %s", b)
	}

	for _, how := range []struct {
		name   string
		url    string
		header []string
	}{
		{"Accept: image/png", p.URL, []string{"Accept", "image/png"}},
		{"?format=png", p.URL + "?format=png", nil},
		{"an img tag's Accept", p.URL, []string{"Accept", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"}},
	} {
		status, h, b := e.do(http.MethodGet, how.url, "", nil, how.header...)
		if status != http.StatusOK || h.Get("Content-Type") != "image/png" {
			t.Fatalf("%s: %d %s", how.name, status, h.Get("Content-Type"))
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: PNG does not decode: %v", how.name, err)
		}
		// 8 pixels a module, a 4-module quiet zone each side.
		side := img.Bounds().Dx()
		if side != img.Bounds().Dy() || side%8 != 0 || (side/8-8-17)%4 != 0 {
			t.Fatalf("%s: a %v image is not a QR code of 8-pixel modules", how.name, img.Bounds())
		}
		t.Logf("QR of a %d-char display code: version %d, %d px, %d bytes", len(display), (side/8-8-17)/4, side, len(b))
	}
	if status, h, _ := e.do(http.MethodGet, p.URL, "", nil, "Accept", "application/json, image/png;q=0.5"); h.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON preferred over PNG: %d %s", status, h.Get("Content-Type"))
	}
	status, h, b = e.do(http.MethodGet, p.URL+"?format=gif", "", nil)
	wantProblem(t, "?format=gif", status, h, b, usher.CodeInvalid)
}

func TestPassPNGOfStaticCode(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	e.json(http.MethodPut, "/v1/shows/show_demo/settings", adminToken, map[string]bool{"allow_static_codes": true}, nil, http.StatusOK)
	var v passView
	e.json(http.MethodGet, e.passURL(tk.TicketID, "").URL, "", nil, &v, http.StatusOK)
	if !v.StaticCodeAllowed || v.GateCode != tk.Code {
		t.Fatalf("pass at a show allowing static codes = %+v, want the plain code as the gate code", v)
	}
}

func TestPassExpires(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	p := e.passURL(tk.TicketID, "?ttl=2m")
	if want := e.clock.Now().Add(2 * time.Minute).Truncate(time.Second); !p.ExpiresAt.Equal(want) {
		t.Fatalf("expires_at = %v, want %v", p.ExpiresAt, want)
	}
	e.clock.Advance(2*time.Minute - time.Second)
	if status, _, b := e.do(http.MethodGet, p.URL, "", nil); status != http.StatusOK {
		t.Fatalf("a second before expiry: %d %s", status, b)
	}
	e.clock.Advance(time.Second)
	status, h, b := e.do(http.MethodGet, p.URL, "", nil)
	wantProblem(t, "expired pass", status, h, b, passes.CodePassExpired)
	status, h, b = e.do(http.MethodGet, p.URL+"?format=png", "", nil)
	wantProblem(t, "expired pass as PNG", status, h, b, passes.CodePassExpired)
}

func TestPassTTL(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	now := e.clock.Now()
	for q, want := range map[string]time.Duration{"?ttl=60": time.Minute, "?ttl=90s": 90 * time.Second, "?ttl=24h": 24 * time.Hour} {
		if p := e.passURL(tk.TicketID, q); !p.ExpiresAt.Equal(now.Add(want).Truncate(time.Second)) {
			t.Errorf("%s: expires_at %v, want %v", q, p.ExpiresAt, now.Add(want))
		}
	}
	for _, q := range []string{"?ttl=0", "?ttl=-5m", "?ttl=25h", "?ttl=abc", "?ttl=999999999999"} {
		status, h, b := e.do(http.MethodPost, "/v1/tickets/tkt_1/pass-url"+q, adminToken, nil)
		wantProblem(t, "pass-url"+q, status, h, b, usher.CodeInvalid)
	}
	status, h, b := e.do(http.MethodPost, "/v1/tickets/tkt_nope/pass-url", adminToken, nil)
	wantProblem(t, "pass-url of an unknown ticket", status, h, b, usher.CodeNotFound)
}

func TestForgedPassRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	p := e.passURL(tk.TicketID, "")
	token := strings.TrimPrefix(p.URL, e.srv.URL+"/passes/")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	// Another deployment's pass: a valid format under another secret.
	other := setup(t)
	other.ticket("tkt_1")
	foreign := strings.TrimPrefix(other.passURL("tkt_1", "").URL, other.srv.URL+"/passes/")
	for name, tok := range map[string]string{
		"expiry pushed back": flip(1 + 12),
		"other ticket":       flip(len(raw) - 33),
		"mac changed":        flip(len(raw) - 1),
		"truncated":          token[:len(token)-2],
		"padded":             token + "==",
		"garbage":            "not-a-token",
		"too long":           strings.Repeat("A", 4096),
		"other deployment":   foreign,
	} {
		status, h, b := e.do(http.MethodGet, "/passes/"+tok, "", nil)
		wantProblem(t, "pass "+name, status, h, b, passes.CodeInvalidPass)
	}
}

func TestRevokedPassRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	p := e.passURL(tk.TicketID, "")
	kept := e.passURL(tk.TicketID, "")
	write := e.token("tickets:write")
	for range 2 { // revoking twice is harmless
		if status, _, b := e.do(http.MethodDelete, "/v1/passes/"+p.TokenID, write, nil); status != http.StatusNoContent {
			t.Fatalf("DELETE pass = %d %s, want 204", status, b)
		}
	}
	status, h, b := e.do(http.MethodGet, p.URL, "", nil)
	wantProblem(t, "revoked pass", status, h, b, passes.CodePassRevoked)
	if status, _, b := e.do(http.MethodGet, kept.URL, "", nil); status != http.StatusOK {
		t.Fatalf("another pass of the same ticket after a revocation: %d %s", status, b)
	}
	for _, id := range []string{"pas_xyz", "pas_00000000000000000000000G", "pas_ABCDEF0123456789ABCDEF01", "tok_000000000000000000000000"} {
		status, h, b := e.do(http.MethodDelete, "/v1/passes/"+id, write, nil)
		wantProblem(t, "DELETE /v1/passes/"+id, status, h, b, usher.CodeInvalid)
	}
}

func TestRevokedTicketPassRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	p := e.passURL(tk.TicketID, "")
	e.revokeTicket(tk.TicketID)
	status, h, b := e.do(http.MethodGet, p.URL, "", nil)
	wantProblem(t, "pass of a revoked ticket", status, h, b, passes.CodeTicketRevoked)
	status, h, b = e.do(http.MethodPost, "/v1/tickets/tkt_1/pass-url", adminToken, nil)
	wantProblem(t, "new pass of a revoked ticket", status, h, b, passes.CodeTicketRevoked)
}

func TestPublicURLConfig(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"ftp://x", "https://", "https://x/?q=1", "://"} {
		if _, err := passes.New(nil, passes.Config{PublicURL: bad}, passes.Options{}); err == nil {
			t.Errorf("New with PublicURL %q succeeded", bad)
		}
	}
	if _, err := passes.New(nil, passes.Config{PassTTL: 2 * time.Hour, MaxPassTTL: time.Hour}, passes.Options{}); err == nil {
		t.Fatal("New with PassTTL above MaxPassTTL succeeded")
	}
}

func TestRevocationsArePrunedAfterEveryTokenExpired(t *testing.T) {
	t.Parallel()
	e := setup(t)
	svc, err := passes.New(e.db, passes.Config{PruneInterval: time.Second, MaxPassTTL: time.Hour}, passes.Options{Logger: slogDiscard(), Now: e.clock.Now, Codes: e.svc.Codes()})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	if err := e.db.RevokePass(t.Context(), "pas_0123456789abcdef01234567", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	revoked := func() bool {
		ok, err := e.db.PassRevoked(t.Context(), "pas_0123456789abcdef01234567")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	time.Sleep(1500 * time.Millisecond) // a prune ran: the revocation is still needed
	if !revoked() {
		t.Fatal("a revocation younger than the longest pass was pruned")
	}
	e.clock.Advance(2*time.Hour + time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for revoked() {
		if time.Now().After(deadline) {
			t.Fatal("a revocation older than every pass it could name was not pruned")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
