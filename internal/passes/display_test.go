package passes_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/passes"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ticketcode"
)

type displayCode struct {
	Code       string    `json:"code"`
	ValidUntil time.Time `json:"valid_until"`
}

func (e *env) displayCode(ticketID string) displayCode {
	e.t.Helper()
	var d displayCode
	e.json(http.MethodGet, "/v1/tickets/"+ticketID+"/display-code", adminToken, nil, &d, http.StatusOK)
	return d
}

// present runs the gate check of a scanned text for the ticket, in a
// transaction that commits, as the scanner's would.
func (e *env) present(tk usher.Ticket, scanned, nonce string) error {
	e.t.Helper()
	code, otp := ticketcode.SplitDisplay(scanned)
	if code != tk.Code {
		e.t.Fatalf("scanned %q carries code %q, want the ticket's %q", scanned, code, tk.Code)
	}
	var checked error
	err := e.db.InTx(e.t.Context(), func(tx *store.Tx) error {
		checked = e.svc.Codes().CheckPresented(e.t.Context(), tx, tk, otp, nonce, e.clock.Now())
		if errors.Is(checked, ticketcode.ErrReplayedCode) || errors.Is(checked, ticketcode.ErrStaleCode) ||
			errors.Is(checked, ticketcode.ErrBadDisplayCode) || errors.Is(checked, passes.ErrStaticCode) {
			return nil // a refusal is a decision, recorded like any other
		}
		return checked
	})
	if err != nil {
		e.t.Fatalf("gate transaction: %v", err)
	}
	return checked
}

func TestDisplayCodeWindowAndReplay(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	shown := e.displayCode(tk.TicketID)
	step := e.clock.Now().Truncate(ticketcode.DisplayPeriod)
	if !strings.HasPrefix(shown.Code, tk.Code+".") || !shown.ValidUntil.Equal(step.Add(ticketcode.DisplayPeriod)) {
		t.Fatalf("display code = %+v, want the ticket code and a password valid until %v", shown, step.Add(ticketcode.DisplayPeriod))
	}

	if err := e.present(tk, shown.Code, "scan_a"); err != nil {
		t.Fatalf("display code inside its window: %v", err)
	}
	if err := e.present(tk, shown.Code, "scan_a"); err != nil {
		t.Fatalf("the same scan retried: %v", err)
	}
	if err := e.present(tk, shown.Code, "scan_b"); !errors.Is(err, ticketcode.ErrReplayedCode) {
		t.Fatalf("the same display code at a second scan = %v, want ErrReplayedCode", err)
	}

	// A screenshot of a later code, used within the skew: accepted once.
	e.clock.Advance(30 * time.Second)
	next := e.displayCode(tk.TicketID)
	if next.Code == shown.Code {
		t.Fatalf("the display code did not change after a step: %q", next.Code)
	}
	e.clock.Advance(30 * time.Second) // one step later: still inside the skew
	if err := e.present(tk, next.Code, "scan_c"); err != nil {
		t.Fatalf("display code one step old: %v", err)
	}
	e.clock.Advance(30 * time.Second) // two steps after it was shown
	if err := e.present(tk, next.Code, "scan_d"); !errors.Is(err, ticketcode.ErrStaleCode) {
		t.Fatalf("display code two steps old = %v, want ErrStaleCode", err)
	}
	if err := e.present(tk, e.displayCode(tk.TicketID).Code, "scan_e"); err != nil {
		t.Fatalf("a fresh display code after a stale one: %v", err)
	}
	forged := tk.Code + ".00000000"
	if err := e.present(tk, forged, "scan_f"); !errors.Is(err, ticketcode.ErrBadDisplayCode) && !errors.Is(err, ticketcode.ErrStaleCode) {
		t.Fatalf("made-up password = %v, want it refused", err)
	}
}

func TestStaticCodeNeedsShowPermission(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	if err := e.present(tk, tk.Code, "scan_a"); !errors.Is(err, passes.ErrStaticCode) {
		t.Fatalf("plain code at a show with default settings = %v, want ErrStaticCode", err)
	}
	write := e.token("inventory:write")
	var s usher.ShowSettings
	e.json(http.MethodPut, "/v1/shows/show_demo/settings", write, map[string]bool{"allow_static_codes": true}, &s, http.StatusOK)
	if s.ShowID != "show_demo" || !s.AllowStaticCodes {
		t.Fatalf("PUT settings = %+v", s)
	}
	if err := e.present(tk, tk.Code, "scan_b"); err != nil {
		t.Fatalf("plain code at a show that allows it: %v", err)
	}
	// Display codes keep working either way.
	if err := e.present(tk, e.displayCode(tk.TicketID).Code, "scan_c"); err != nil {
		t.Fatalf("display code at a show that allows static codes: %v", err)
	}
	var got usher.ShowSettings
	e.json(http.MethodGet, "/v1/shows/show_demo/settings", e.token("inventory:read"), nil, &got, http.StatusOK)
	if got != s {
		t.Fatalf("GET settings = %+v, want %+v", got, s)
	}
	for _, body := range []any{map[string]any{}, map[string]any{"allow_static_codes": true, "extra": 1}, map[string]any{"allow_static_codes": "yes"}} {
		status, h, b := e.do(http.MethodPut, "/v1/shows/show_demo/settings", write, body)
		wantProblem(t, "PUT settings with a bad body", status, h, b, usher.CodeInvalid)
	}
}

// TestOfflineDisplayCheck checks what a venue's scanner can do without the
// server: verify the code with the public keys and the password with the
// venue's display key.
func TestOfflineDisplayCheck(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	scanner := e.token("scanner:venue_demo")
	var keys keyList
	e.json(http.MethodGet, "/v1/ticket-keys", scanner, nil, &keys, http.StatusOK)
	var dk struct {
		Key           string `json:"key"`
		PeriodSeconds int    `json:"period_seconds"`
		Digits        int    `json:"digits"`
	}
	e.json(http.MethodGet, "/v1/venues/venue_demo/display-key", scanner, nil, &dk, http.StatusOK)
	venueKey, err := base64.RawURLEncoding.DecodeString(dk.Key)
	if err != nil || dk.PeriodSeconds != 30 || dk.Digits != 8 {
		t.Fatalf("display key = %+v, %v", dk, err)
	}

	code, otp := ticketcode.SplitDisplay(e.displayCode(tk.TicketID).Code)
	claims, err := scannerKeyring(t, keys).Verify(code)
	if err != nil {
		t.Fatalf("offline Verify: %v", err)
	}
	secret := ticketcode.DisplaySecret(venueKey, claims.TicketID, claims.Generation)
	if _, err := ticketcode.VerifyDisplay(secret, otp, e.clock.Now()); err != nil {
		t.Fatalf("offline VerifyDisplay: %v", err)
	}
	e.clock.Advance(2 * time.Minute)
	if _, err := ticketcode.VerifyDisplay(secret, otp, e.clock.Now()); !errors.Is(err, ticketcode.ErrStaleCode) {
		t.Fatalf("offline VerifyDisplay two minutes later = %v, want ErrStaleCode", err)
	}
}

func TestDisplayCodeRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	e.revokeTicket(tk.TicketID)
	status, h, b := e.do(http.MethodGet, "/v1/tickets/tkt_1/display-code", adminToken, nil)
	wantProblem(t, "display code of a revoked ticket", status, h, b, passes.CodeTicketRevoked)
	status, h, b = e.do(http.MethodGet, "/v1/tickets/tkt_nope/display-code", adminToken, nil)
	wantProblem(t, "display code of an unknown ticket", status, h, b, usher.CodeNotFound)
}

// TestTransferChangesDisplayCodes checks that a new generation has new
// passwords and that the replay record starts afresh for it.
func TestTransferChangesDisplayCodes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tk := e.ticket("tkt_1")
	first := e.displayCode(tk.TicketID).Code
	if err := e.present(tk, first, "scan_a"); err != nil {
		t.Fatal(err)
	}
	next := tk
	next.Generation = 2
	var err error
	if next.Code, err = e.svc.Codes().Issue(ticketcode.Claims{TicketID: tk.TicketID, ShowID: tk.ShowID, VenueID: tk.VenueID, Generation: 2}); err != nil {
		t.Fatal(err)
	}
	shown, _ := e.svc.Codes().DisplayCode(next, e.clock.Now())
	_, oldOTP := ticketcode.SplitDisplay(first)
	if _, newOTP := ticketcode.SplitDisplay(shown); newOTP == oldOTP {
		t.Fatalf("generation 2 shows the password of generation 1")
	}
	if err := e.present(next, shown, "scan_b"); err != nil {
		t.Fatalf("new generation's display code in the same step: %v", err)
	}
	if err := e.present(tk, first, "scan_c"); !errors.Is(err, ticketcode.ErrReplayedCode) {
		t.Fatalf("old generation's display code after the transfer = %v, want refused", err)
	}
}
