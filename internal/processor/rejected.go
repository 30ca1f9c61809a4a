package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ticketing"
)

// reasonStoreRejected is the dead-letter reason of an event whose values the
// store refused (an encoding, a length, a constraint): retrying cannot help.
const reasonStoreRejected = "store_rejected"

// maxDetail bounds the error text kept with a dead letter.
const maxDetail = 2000

// eventError is the failure of one event of a transaction.
type eventError struct {
	ev  *usher.InboundEvent
	err error
}

func (e *eventError) Error() string {
	return fmt.Sprintf("event %s/%.64q: %v", e.ev.Source, e.ev.ID, e.err)
}

func (e *eventError) Unwrap() error { return e.err }

// attempt is what a run of a batch's transaction knows from the runs before
// it that failed.
type attempt struct {
	// rejected holds the events whose values the store refused, with the
	// error as dead-letter detail: they are kept as store_rejected.
	rejected map[*usher.InboundEvent]string
	// failed holds the events that failed for good after they had written:
	// they are set aside without being applied.
	failed map[*usher.InboundEvent]*setAsideError
	// flushEach writes every event's held-back rows right after it, so that
	// a value the store refuses names its event (the commit's multi-row
	// writes cannot).
	flushEach bool
}

// learn takes what a failed run tells and reports whether a new run may
// succeed.
func (a *attempt) learn(err error) bool {
	var ee *eventError
	if !errors.As(err, &ee) {
		// A refusal at the commit: find its event in a run that flushes
		// after every event.
		if errors.Is(err, usher.ErrRejected) && !a.flushEach {
			a.flushEach = true
			return true
		}
		return false
	}
	var sa *setAsideError
	if errors.As(ee.err, &sa) && a.failed[ee.ev] == nil {
		a.failed[ee.ev] = sa
		return true
	}
	if errors.Is(err, usher.ErrRejected) && a.rejected[ee.ev] == "" {
		a.rejected[ee.ev] = safeText(ee.err.Error(), maxDetail)
		a.flushEach = false
		return true
	}
	return false
}

// setAsideRejected keeps an event that the store refused as a dead letter
// with reason store_rejected, and records it as set aside so that a
// redelivery is a duplicate. Only values the store is sure to take are
// written: an id outside the grammar is left out (the whole event stays in
// the dead letter's payload, as JSON text).
func (p *Processor) setAsideRejected(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, delivered uint64, detail string) (string, error) {
	p.log.Warn("event set aside", "source", ev.Source, "event_id", safeText(ev.ID, 256), "type", safeText(ev.Type, 256),
		"reason", reasonStoreRejected, "detail", detail)
	kept := *ev
	kept.Data = withoutPersonalData(ev.Data)
	dl := p.deadLetter(&kept, reasonStoreRejected, delivered, detail)
	dl.ID = ticketing.StableID("dlq_", "processing", safeText(ev.Source, 0), safeText(ev.ID, 0), safeText(ev.PayloadHash, 0))
	dl.Source, dl.Type = safeKey(ev.Source), safeKey(ev.Type)
	dl.EventID = safeKey(ev.ID)
	if dl.EventID == "" {
		dl.EventID = dl.ID
	}
	dl.OrderID, dl.VenueID = safeID(ev.OrderID), safeID(dl.VenueID)
	dl.Payload = json.RawMessage(safeText(string(dl.Payload), 0))
	keyed := dl.Source != "" && dl.EventID == ev.ID // a dedupe key the store can hold
	if keyed {
		prev, found, err := tx.InboundRecord(ctx, dl.Source, dl.EventID)
		if err != nil {
			return "", err
		}
		if found && prev.PayloadHash == ev.PayloadHash {
			return outcomeDuplicate, nil // set aside before, redelivered since
		}
		keyed = !found
	}
	if err := tx.InsertDeadLetter(ctx, dl); err != nil {
		return "", err
	}
	if !keyed {
		return usher.OutcomeSetAside, nil
	}
	err := tx.InsertInbound(ctx, usher.InboundRecord{
		Source: dl.Source, EventID: dl.EventID, PayloadHash: safeKey(ev.PayloadHash), Type: dl.Type, OrderID: dl.OrderID,
		KeyID: safeKey(ev.KeyID), Outcome: usher.OutcomeSetAside, Reason: reasonStoreRejected, Data: kept.Data,
		EventAt: ev.Timestamp, ReceivedAt: ev.ReceivedAt, ProcessedAt: p.now(), TraceID: traceID(ev),
	})
	if err != nil {
		return "", err
	}
	return usher.OutcomeSetAside, tx.AppendAudit(ctx, usher.AuditEntry{
		Actor: "source:" + dl.Source, Action: auditAction(dl.Type), EntityType: "event", EntityID: dl.EventID, OrderID: dl.OrderID,
		Detail: map[string]string{"outcome": usher.OutcomeSetAside, "reason": reasonStoreRejected, "key_id": safeKey(ev.KeyID), "payload_hash": safeKey(ev.PayloadHash)},
	})
}

// withoutPersonalData returns data without the buyer and new holder, which
// are kept only in the vault (vaultFields) and may be what the store
// refused; the result is text any engine stores.
func withoutPersonalData(data json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return json.RawMessage(`{}`)
	}
	delete(m, "buyer")
	delete(m, "to")
	return json.RawMessage(safeText(string(mustJSON(m)), 0))
}

// safeID returns id when it follows usher's identifier grammar, else "".
func safeID(id string) string {
	if usher.ValidID(id) {
		return id
	}
	return ""
}

// safeKey returns s when it could be a provider's event id (printable
// ASCII, bounded), else "".
func safeKey(s string) string {
	if usher.ValidateEventID("key", s) != nil {
		return ""
	}
	return s
}

// safeText returns s as text any engine stores: valid UTF-8 without NUL
// bytes, cut to at most max bytes (max <= 0: no cut) on a rune boundary.
func safeText(s string, max int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
	if max <= 0 || len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// originalData keeps each event's data as queued: applying an event may
// replace personal data by vault tokens in ev.Data, and a transaction that
// runs again must start from the original.
func originalData(jobs []*job) map[*usher.InboundEvent]json.RawMessage {
	m := make(map[*usher.InboundEvent]json.RawMessage)
	for _, j := range jobs {
		for i := range j.b.Events {
			m[&j.b.Events[i]] = j.b.Events[i].Data
		}
	}
	return m
}

// restoreData puts back the data that originalData kept.
func restoreData(original map[*usher.InboundEvent]json.RawMessage) {
	for ev, data := range original {
		ev.Data = data
	}
}
