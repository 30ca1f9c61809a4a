package scanner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/ticketcode"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/ticketing"
)

// Scan results. The first seven are the answers of an online scan; offline
// reconciliation adds the last two.
const (
	ResultAdmitted             = "admitted"
	ResultAlreadyAdmitted      = "already_admitted"
	ResultRevoked              = "revoked"
	ResultUnknown              = "unknown"
	ResultWrongVenue           = "wrong_venue"
	ResultWrongShow            = "wrong_show"
	ResultInvalid              = "invalid"
	ResultDuplicateEntry       = "duplicate_entry"
	ResultAdmittedWhileRevoked = "admitted_while_revoked"
	// Rotating display codes (docs/ticket-codes.md): a code outside its
	// window, a plain code where the show demands a rotating one, or a
	// display code already used by another scan.
	ResultStaleCode    = "stale_code"
	ResultReplayedCode = "replayed_code"
)

// Outbound event types written by the gates.
const (
	EventTicketAdmitted       = usher.TypeTicketAdmitted
	EventDuplicateEntry       = usher.TypeScanDuplicateEntry
	EventAdmittedWhileRevoked = usher.TypeScanAdmittedWhileRevoked
)

// ScanRequest is the body of POST /v1/scans.
type ScanRequest struct {
	Code     string `json:"code"`
	VenueID  string `json:"venue_id"`
	DeviceID string `json:"device_id"`
	// ShowID, when set, refuses tickets of other shows (wrong_show).
	ShowID    string    `json:"show_id,omitempty"`
	ScannedAt time.Time `json:"scanned_at"`
	// Nonce makes the scan idempotent: the same nonce again is the same
	// scan and gets the first answer. Without one, every request is a scan.
	Nonce string `json:"nonce,omitempty"`
}

// ScanResult is the answer to a scan. TicketID is empty when the code names
// no ticket of the venue.
type ScanResult struct {
	Result          string     `json:"result"`
	TicketID        string     `json:"ticket_id"`
	FirstAdmittedAt *time.Time `json:"first_admitted_at,omitempty"`
	Reason          string     `json:"reason,omitempty"`
	Nonce           string     `json:"nonce"`
}

// maxCodeLen bounds a code; signed codes are longer than today's random ones.
const maxCodeLen = 1024

// ValidCode reports whether code is well formed: 1 to 1024 printable ASCII
// characters without spaces. Only the exact string is looked up, so any
// format of code, random or signed, passes as long as it is printable.
func ValidCode(code string) bool {
	if code == "" || len(code) > maxCodeLen {
		return false
	}
	for i := range len(code) {
		if code[i] <= ' ' || code[i] > '~' {
			return false
		}
	}
	return true
}

func validateScan(code, venue, device, nonce string, scannedAt time.Time) error {
	if err := usher.ValidateID("venue_id", venue); err != nil {
		return err
	}
	switch {
	case device == "" || len(device) > 128:
		return usher.Errorf(usher.CodeInvalid, "device_id: 1 to 128 characters")
	case len(nonce) > 128:
		return usher.Errorf(usher.CodeInvalid, "nonce: at most 128 characters")
	case scannedAt.IsZero():
		return usher.Errorf(usher.CodeInvalid, "scanned_at: an RFC 3339 time is required")
	case len(code) > maxCodeLen:
		return usher.Errorf(usher.CodeInvalid, "code: at most %d characters", maxCodeLen)
	}
	return nil
}

// verdict is what usher knows of a code presented at a venue, now.
type verdict struct {
	result string // admitted means the ticket is valid and may go in
	ticket usher.Ticket
	found  bool
}

// judge looks the code up inside tx and says what an online scan would answer.
// A signed code is verified first: a forged one is invalid, and the code of
// an older generation of a ticket (transferred, reinstated) is revoked.
func judge(ctx context.Context, tx Tx, codes CodeVerifier, code, venue, show string) (verdict, error) {
	if !ValidCode(code) {
		return verdict{result: ResultInvalid}, nil
	}
	var claims ticketcode.Claims
	signed := codes != nil && strings.HasPrefix(code, ticketcode.Prefix)
	if signed {
		var err error
		if claims, err = codes.Verify(ctx, code); err != nil {
			return verdict{result: ResultInvalid}, nil
		}
	}
	t, found, err := tx.TicketByCode(ctx, code)
	if err != nil {
		return verdict{}, err
	}
	if !found && signed {
		// Genuine but not current: an older generation of a real ticket.
		if old, err := tx.TicketByID(ctx, claims.TicketID); err == nil && old.Generation > claims.Generation {
			if old.VenueID != venue {
				return verdict{result: ResultWrongVenue}, nil
			}
			return verdict{result: ResultRevoked, ticket: old, found: true}, nil
		}
	}
	v := verdict{ticket: t, found: found}
	switch {
	case !found:
		v.result = ResultUnknown
	case t.VenueID != venue:
		v.result = ResultWrongVenue
	case show != "" && t.ShowID != show:
		v.result = ResultWrongShow
	case t.Status == usher.TicketValid:
		v.result = ResultAdmitted
	case t.Status == usher.TicketAdmitted:
		v.result = ResultAlreadyAdmitted
	case t.Status == usher.TicketRevoked:
		v.result = ResultRevoked
	default:
		v.result = string(t.Status) // a status added later, such as blocked
	}
	return v, nil
}

// admitTicket applies the ticket state machine's Admit transition
// (ticketing.NextTicket) and swaps the stored status from the ticket's to
// the next one, so a concurrent admission makes one of them conflict.
func admitTicket(ctx context.Context, tx Tx, t usher.Ticket) error {
	next, err := ticketing.NextTicket(t, ticketing.Admit)
	if err != nil {
		return fmt.Errorf("admit ticket %s: %w", t.TicketID, err)
	}
	return tx.SwapTicketStatus(ctx, t.TicketID, t.Status, next.Status)
}

// visibleTicket hides the ticket id of another venue's ticket from this
// venue's scanner.
func visibleTicket(result, ticketID string) string {
	if result == ResultWrongVenue {
		return ""
	}
	return ticketID
}

func (s *Service) handleScan() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accepted := s.now()
		var req ScanRequest
		if err := decode(r, maxScanBody, &req); err != nil {
			problem.Fail(w, r, err)
			return
		}
		if err := validateScan(req.Code, req.VenueID, req.DeviceID, req.Nonce, req.ScannedAt); err != nil {
			problem.Fail(w, r, err)
			return
		}
		if err := mayScanAt(r, req.VenueID); err != nil {
			problem.Fail(w, r, err)
			return
		}
		if req.Nonce == "" {
			req.Nonce = serverNonce()
		}
		req.ScannedAt = req.ScannedAt.Truncate(time.Microsecond) // as stored
		res, recorded, err := s.scanOnline(r.Context(), req, accepted)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		if recorded {
			s.metrics.scans.WithLabelValues(req.VenueID, usher.ScanOnline, res.Result).Inc()
			if res.Result == ResultAdmitted {
				s.Notify(req.VenueID)
			}
		}
		respond(w, http.StatusOK, res)
	})
}

func serverNonce() string { return usher.NewID("srv_") }

// scanOnline decides a scan in one transaction: the decision and the scan
// record, and for an admission the ticket's compare-and-swap to admitted, the
// admission, the feed entry and the ticket.admitted event. Two devices
// scanning one ticket at once both try the swap; the loser's transaction is
// retried by InTx and finds the ticket admitted. recorded is false when the
// nonce was already recorded and the first answer is repeated.
func (s *Service) scanOnline(ctx context.Context, req ScanRequest, accepted time.Time) (res ScanResult, recorded bool, err error) {
	hash := ticketing.CodeHash(req.Code)
	err = s.db.InTx(ctx, func(tx Tx) error {
		res, recorded = ScanResult{Nonce: req.Nonce}, false
		prev, found, err := tx.ScanByNonce(ctx, req.VenueID, req.Nonce)
		if err != nil {
			return err
		}
		if found {
			if prev.CodeHash != hash || prev.DeviceID != req.DeviceID {
				return usher.Errorf(usher.CodeConflict, "nonce %q was already used for another scan", req.Nonce)
			}
			res.Result, res.TicketID = prev.Decision, visibleTicket(prev.Decision, prev.TicketID)
			res.FirstAdmittedAt, err = firstAdmittedFor(ctx, tx, prev.Decision, prev.TicketID)
			return err
		}
		code, otp := req.Code, ""
		if s.presented != nil {
			code, otp = ticketcode.SplitDisplay(req.Code)
		}
		v, err := judge(ctx, tx, s.codes, code, req.VenueID, req.ShowID)
		if err != nil {
			return err
		}
		if v.result == ResultAdmitted && s.presented != nil {
			if v.result, err = presentedResult(s.presented.CheckPresented(ctx, tx, v.ticket, otp, req.Nonce, s.now())); err != nil {
				return err
			}
		}
		recorded = true
		res.Result, res.TicketID = v.result, visibleTicket(v.result, v.ticket.TicketID)
		scan := usher.Scan{
			VenueID: req.VenueID, Nonce: req.Nonce, DeviceID: req.DeviceID, CodeHash: hash,
			TicketID: v.ticket.TicketID, ShowID: v.ticket.ShowID, Mode: usher.ScanOnline,
			Decision: v.result, Result: v.result, ScannedAt: req.ScannedAt,
		}
		if v.result != ResultAdmitted {
			if _, err := tx.InsertScan(ctx, scan); err != nil {
				return err
			}
			res.FirstAdmittedAt, err = firstAdmittedFor(ctx, tx, v.result, v.ticket.TicketID)
			return err
		}
		if err := admitTicket(ctx, tx, v.ticket); err != nil {
			return err
		}
		id, err := tx.InsertScan(ctx, scan)
		if err != nil {
			return err
		}
		if err := s.admit(ctx, tx, v.ticket, scan, id, accepted, true); err != nil {
			return err
		}
		at := req.ScannedAt.UTC()
		res.FirstAdmittedAt = &at
		return nil
	})
	return res, recorded, err
}

// admit records a ticket's first admission by the scan id; with toFeed, the
// ticket has just become admitted and its venue's feed learns it.
func (s *Service) admit(ctx context.Context, tx Tx, t usher.Ticket, scan usher.Scan, scanID int64, accepted time.Time, toFeed bool) error {
	err := tx.InsertAdmission(ctx, usher.Admission{
		TicketID: t.TicketID, VenueID: t.VenueID, ScanID: scanID, DeviceID: scan.DeviceID, Nonce: scan.Nonce, AdmittedAt: scan.ScannedAt,
	})
	if err != nil {
		return err
	}
	if toFeed {
		_, err := tx.AppendTicketChange(ctx, usher.TicketChange{
			VenueID: t.VenueID, TicketID: t.TicketID, ShowID: t.ShowID, Status: string(usher.TicketAdmitted),
			CodeHash: ticketing.CodeHash(t.Code), AcceptedAt: accepted,
		})
		if err != nil {
			return err
		}
	}
	return emit(ctx, tx, EventTicketAdmitted, t, scan.Nonce, map[string]any{
		"ticket_id": t.TicketID, "order_id": t.OrderID, "show_id": t.ShowID, "venue_id": t.VenueID,
		"device_id": scan.DeviceID, "scanned_at": scan.ScannedAt.UTC(), "mode": scan.Mode, "nonce": scan.Nonce,
	})
}

// emit appends an outbound event whose id derives from the venue, the scan's
// nonce and the type: each scan causes each event at most once.
func emit(ctx context.Context, tx Tx, typ string, t usher.Ticket, nonce string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s: %w", typ, err)
	}
	return tx.AppendOutbox(ctx, usher.OutboundEvent{
		ID: ticketing.StableID("evt_", "scan", t.VenueID, nonce, typ), Type: typ, OrderID: t.OrderID, VenueID: t.VenueID, Data: raw,
	})
}

// firstAdmittedFor returns when the ticket was first admitted, for the
// results that concern an admission of this venue's ticket; nil otherwise.
func firstAdmittedFor(ctx context.Context, tx Tx, result, ticketID string) (*time.Time, error) {
	switch result {
	case ResultAdmitted, ResultAlreadyAdmitted, ResultDuplicateEntry:
	default:
		return nil, nil
	}
	if ticketID == "" {
		return nil, nil
	}
	a, found, err := tx.Admission(ctx, ticketID)
	if err != nil || !found {
		return nil, err
	}
	at := a.AdmittedAt.UTC()
	return &at, nil
}

// presentedResult maps the rotating-code check onto a scan result.
func presentedResult(err error) (string, error) {
	switch {
	case err == nil:
		return ResultAdmitted, nil
	case errors.Is(err, ticketcode.ErrReplayedCode):
		return ResultReplayedCode, nil
	case errors.Is(err, ticketcode.ErrStaleCode), errors.Is(err, ErrStaticCodeRefused):
		return ResultStaleCode, nil
	case errors.Is(err, ticketcode.ErrBadDisplayCode):
		return ResultInvalid, nil
	}
	return "", err
}
