package scanner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/ticketing"
)

// BatchScan is one scan made offline, as POST /v1/scans/batch uploads it:
// the device's own time, the nonce it made up and what it decided.
type BatchScan struct {
	Code      string    `json:"code"`
	VenueID   string    `json:"venue_id"`
	DeviceID  string    `json:"device_id"`
	ShowID    string    `json:"show_id,omitempty"`
	ScannedAt time.Time `json:"scanned_at"`
	Nonce     string    `json:"nonce"`
	Decision  string    `json:"decision"`
}

// BatchResult is the reconciled outcome of one uploaded scan. Result is the
// device's decision for a refusal; for an admission it is admitted,
// duplicate_entry, admitted_while_revoked, or what an online scan would have
// answered for a code that admits nobody (unknown, wrong_venue, …), with a
// reason. A nonce already uploaded gets its current result again, unchanged.
type BatchResult struct {
	Nonce           string     `json:"nonce"`
	Decision        string     `json:"decision"`
	Result          string     `json:"result"`
	TicketID        string     `json:"ticket_id"`
	FirstAdmittedAt *time.Time `json:"first_admitted_at,omitempty"`
	Reason          string     `json:"reason,omitempty"`
}

// BatchResponse is the answer of POST /v1/scans/batch: one result per
// uploaded scan, in the order uploaded.
type BatchResponse struct {
	Results []BatchResult `json:"results"`
}

// ResultRejected answers an uploaded scan whose nonce the venue already
// recorded for another code or device; nothing is recorded for it.
const ResultRejected = "rejected"

// decisions are what a device may report having decided offline.
var decisions = []string{
	ResultAdmitted, ResultAlreadyAdmitted, ResultRevoked, ResultUnknown, ResultWrongVenue, ResultWrongShow, ResultInvalid,
	"blocked", "not_valid_now", "stale_code", "replayed_code",
}

// batchChunk is how many scans one transaction reconciles.
const batchChunk = 100

func (s *Service) handleBatch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accepted := s.now()
		scans, err := s.decodeBatch(r)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		results, err := s.reconcile(r.Context(), scans, accepted)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		respond(w, http.StatusOK, BatchResponse{Results: results})
	})
}

// decodeBatch reads a JSON array of scans (or {"scans": [...]}), checks each
// and that the caller may scan at every venue named.
func (s *Service) decodeBatch(r *http.Request) ([]BatchScan, error) {
	var raw json.RawMessage
	if err := decode(r, maxBatchBody, &raw); err != nil {
		return nil, err
	}
	var scans []BatchScan
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		var wrapped struct {
			Scans []BatchScan `json:"scans"`
		}
		if err := json.Unmarshal(raw, &wrapped); err != nil {
			return nil, usher.Errorf(usher.CodeInvalid, "invalid batch: %v", err)
		}
		scans = wrapped.Scans
	} else if err := json.Unmarshal(raw, &scans); err != nil {
		return nil, usher.Errorf(usher.CodeInvalid, "invalid batch: %v", err)
	}
	if len(scans) == 0 || len(scans) > s.cfg.MaxBatch {
		return nil, usher.Errorf(usher.CodeInvalid, "a batch holds 1 to %d scans, not %d", s.cfg.MaxBatch, len(scans))
	}
	for i := range scans {
		b := &scans[i]
		if err := validateScan(b.Code, b.VenueID, b.DeviceID, b.Nonce, b.ScannedAt); err != nil {
			return nil, usher.Errorf(usher.CodeInvalid, "scan %d: %s", i, usher.ErrorMessage(err))
		}
		if b.Nonce == "" {
			return nil, usher.Errorf(usher.CodeInvalid, "scan %d: a nonce is required", i)
		}
		if !slices.Contains(decisions, b.Decision) {
			return nil, usher.Errorf(usher.CodeInvalid, "scan %d: decision %q is not one of %v", i, b.Decision, decisions)
		}
		if err := mayScanAt(r, b.VenueID); err != nil {
			return nil, err
		}
		// The store keeps microseconds; comparing at that precision keeps
		// the earliest-wins order the same whatever the upload order.
		b.ScannedAt = b.ScannedAt.Truncate(time.Microsecond)
	}
	return scans, nil
}

// effect is what one reconciled scan did, for the metrics and the streams.
type effect struct {
	venue    string
	result   string
	recorded bool
	alerts   []string
	admitted bool
}

// reconcile records the uploaded scans in order of device time, a chunk per
// transaction, and returns their results in upload order.
func (s *Service) reconcile(ctx context.Context, scans []BatchScan, accepted time.Time) ([]BatchResult, error) {
	order := make([]int, len(scans))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := scans[a].ScannedAt.Compare(scans[b].ScannedAt); c != 0 {
			return c
		}
		return strings.Compare(scans[a].Nonce, scans[b].Nonce)
	})
	results := make([]BatchResult, len(scans))
	for start := 0; start < len(order); start += batchChunk {
		chunk := order[start:min(start+batchChunk, len(order))]
		var effects []effect
		err := s.db.InTx(ctx, func(tx Tx) error {
			effects = effects[:0]
			for _, i := range chunk {
				res, eff, err := s.reconcileOne(ctx, tx, scans[i], accepted)
				if err != nil {
					return fmt.Errorf("scan %d: %w", i, err)
				}
				results[i] = res
				effects = append(effects, eff)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		s.count(effects)
	}
	return results, nil
}

func (s *Service) count(effects []effect) {
	woken := map[string]bool{}
	for _, e := range effects {
		if e.recorded {
			s.metrics.scans.WithLabelValues(e.venue, usher.ScanOffline, e.result).Inc()
		}
		for _, a := range e.alerts {
			s.metrics.alerts.WithLabelValues(e.venue, a).Inc()
		}
		if e.admitted && !woken[e.venue] {
			woken[e.venue] = true
			s.Notify(e.venue)
		}
	}
}

// reconcileOne records one offline scan as the device decided it and works
// out what it means. Refusals are recorded as they are. An admission is
// checked against what usher knows: a ticket revoked before the scan is
// flagged admitted_while_revoked; otherwise the earliest admitting scan of
// the ticket by device time holds its admission and every other one is a
// duplicate entry, even if it was recorded first.
func (s *Service) reconcileOne(ctx context.Context, tx Tx, b BatchScan, accepted time.Time) (BatchResult, effect, error) {
	hash := ticketing.CodeHash(b.Code)
	res := BatchResult{Nonce: b.Nonce, Decision: b.Decision}
	eff := effect{venue: b.VenueID}
	prev, found, err := tx.ScanByNonce(ctx, b.VenueID, b.Nonce)
	if err != nil {
		return res, eff, err
	}
	if found {
		if prev.CodeHash != hash || prev.DeviceID != b.DeviceID {
			res.Result, res.Reason = ResultRejected, "the nonce was already used for another scan"
			return res, eff, nil
		}
		res.Decision, res.Result, res.Reason = prev.Decision, prev.Result, prev.Reason
		res.TicketID = visibleTicket(prev.Result, prev.TicketID)
		res.FirstAdmittedAt, err = firstAdmittedFor(ctx, tx, prev.Result, prev.TicketID)
		return res, eff, err
	}
	v, err := judge(ctx, tx, s.codes, b.Code, b.VenueID, b.ShowID)
	if err != nil {
		return res, eff, err
	}
	scan := usher.Scan{
		VenueID: b.VenueID, Nonce: b.Nonce, DeviceID: b.DeviceID, CodeHash: hash,
		TicketID: v.ticket.TicketID, ShowID: v.ticket.ShowID, Mode: usher.ScanOffline,
		Decision: b.Decision, Result: b.Decision, ScannedAt: b.ScannedAt,
	}
	switch {
	case b.Decision != ResultAdmitted:
		// Recorded, not re-judged: the device refused and nobody went in.
	case v.result == ResultAdmitted || v.result == ResultAlreadyAdmitted:
		err = s.reconcileAdmission(ctx, tx, v.ticket, &scan, accepted, &eff)
	case v.result == ResultRevoked:
		err = s.reconcileRevoked(ctx, tx, v.ticket, &scan, accepted, &eff)
	default:
		scan.Result = v.result
		scan.Reason = "admitted offline; online the answer would have been " + v.result
	}
	if err != nil {
		return res, eff, err
	}
	if scan.ID == 0 {
		if _, err := tx.InsertScan(ctx, scan); err != nil {
			return res, eff, err
		}
	}
	eff.recorded, eff.result = true, scan.Result
	res.Result, res.Reason, res.TicketID = scan.Result, scan.Reason, visibleTicket(v.result, v.ticket.TicketID)
	res.FirstAdmittedAt, err = firstAdmittedFor(ctx, tx, scan.Result, scan.TicketID)
	return res, eff, err
}

// reconcileRevoked handles an offline admission of a ticket revoked now: if
// it was revoked before the scan, the entry is flagged; if after, the holder
// went in while it was valid and the admission stands.
func (s *Service) reconcileRevoked(ctx context.Context, tx Tx, t usher.Ticket, scan *usher.Scan, accepted time.Time, eff *effect) error {
	revokedAt, found, err := tx.RevokedAt(ctx, t.VenueID, t.TicketID)
	if err != nil {
		return err
	}
	if !found {
		revokedAt = t.UpdatedAt // history pruned: the ticket's last update was its revocation
	}
	if scan.ScannedAt.Before(revokedAt) {
		scan.Reason = "entered before the ticket was revoked at " + stamp(revokedAt)
		return s.reconcileAdmission(ctx, tx, t, scan, accepted, eff)
	}
	scan.Result = ResultAdmittedWhileRevoked
	scan.Reason = "the ticket was revoked at " + stamp(revokedAt) + ", before the scan"
	id, err := tx.InsertScan(ctx, *scan)
	if err != nil {
		return err
	}
	scan.ID = id
	eff.alerts = append(eff.alerts, ResultAdmittedWhileRevoked)
	return emit(ctx, tx, EventAdmittedWhileRevoked, t, scan.Nonce, alertData(t, *scan, map[string]any{"revoked_at": revokedAt.UTC()}))
}

// reconcileAdmission gives the ticket's admission to the earliest admitting
// scan by device time (ties broken by nonce) and marks the others duplicate
// entries, emitting an alert for each. It records the scan, with the reason
// it carries if it is the first.
func (s *Service) reconcileAdmission(ctx context.Context, tx Tx, t usher.Ticket, scan *usher.Scan, accepted time.Time, eff *effect) error {
	adm, found, err := tx.Admission(ctx, t.TicketID)
	if err != nil {
		return err
	}
	first := !found || earlier(scan.ScannedAt, scan.Nonce, adm.AdmittedAt, adm.Nonce)
	if first {
		scan.Result = ResultAdmitted
	} else {
		scan.Result = ResultDuplicateEntry
		scan.Reason = fmt.Sprintf("device %s admitted this ticket first, at %s", adm.DeviceID, stamp(adm.AdmittedAt))
	}
	if scan.ID, err = tx.InsertScan(ctx, *scan); err != nil {
		return err
	}
	switch {
	case !found:
		toFeed := t.Status == usher.TicketValid
		if err := markEntered(ctx, tx, t); err != nil {
			return err
		}
		eff.admitted = true
		return s.admit(ctx, tx, t, *scan, scan.ID, accepted, toFeed)
	case first:
		return s.demote(ctx, tx, t, adm, *scan, eff)
	default:
		eff.alerts = append(eff.alerts, ResultDuplicateEntry)
		return emit(ctx, tx, EventDuplicateEntry, t, scan.Nonce, alertData(t, *scan, map[string]any{
			"first_device_id": adm.DeviceID, "first_admitted_at": adm.AdmittedAt.UTC(), "first_nonce": adm.Nonce,
		}))
	}
}

// markEntered records on the ticket that its holder went in: a valid ticket
// becomes admitted; one revoked after the entry keeps the
// used_before_revocation mark, evidence in a chargeback dispute.
func markEntered(ctx context.Context, tx Tx, t usher.Ticket) error {
	switch {
	case t.Status == usher.TicketValid:
		return admitTicket(ctx, tx, t)
	case t.Status == usher.TicketRevoked && !t.UsedBeforeRevocation:
		marked := t
		marked.UsedBeforeRevocation = true
		return tx.UpdateTicket(ctx, marked, t.Status, t.Generation)
	}
	return nil
}

// demote moves the ticket's admission from the scan that held it to the
// earlier scan, which makes the former a duplicate entry.
func (s *Service) demote(ctx context.Context, tx Tx, t usher.Ticket, old usher.Admission, scan usher.Scan, eff *effect) error {
	err := tx.SwapAdmission(ctx, usher.Admission{
		TicketID: t.TicketID, VenueID: t.VenueID, ScanID: scan.ID, DeviceID: scan.DeviceID, Nonce: scan.Nonce, AdmittedAt: scan.ScannedAt,
	}, old.ScanID)
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("device %s admitted this ticket earlier, at %s", scan.DeviceID, stamp(scan.ScannedAt))
	if err := tx.SetScanResult(ctx, old.ScanID, ResultDuplicateEntry, reason); err != nil {
		return err
	}
	eff.alerts = append(eff.alerts, ResultDuplicateEntry)
	demoted := usher.Scan{DeviceID: old.DeviceID, Nonce: old.Nonce, ScannedAt: old.AdmittedAt}
	return emit(ctx, tx, EventDuplicateEntry, t, old.Nonce, alertData(t, demoted, map[string]any{
		"first_device_id": scan.DeviceID, "first_admitted_at": scan.ScannedAt.UTC(), "first_nonce": scan.Nonce,
	}))
}

func alertData(t usher.Ticket, scan usher.Scan, extra map[string]any) map[string]any {
	d := map[string]any{
		"ticket_id": t.TicketID, "order_id": t.OrderID, "show_id": t.ShowID, "venue_id": t.VenueID,
		"device_id": scan.DeviceID, "nonce": scan.Nonce, "scanned_at": scan.ScannedAt.UTC(),
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

func earlier(at time.Time, nonce string, than time.Time, thanNonce string) bool {
	if c := at.Compare(than); c != 0 {
		return c < 0
	}
	return nonce < thanNonce
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
