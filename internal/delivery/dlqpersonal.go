package delivery

import (
	"context"
	"encoding/json"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/personal"
)

// ActionPIIRead is the audit action of an operator reading the personal
// data of a dead letter (the vault's reads are pii.read too).
const ActionPIIRead = "pii.read"

// redacted stands for sealed personal data that the caller may not see.
const redacted = "redacted"

// sealedEvent is the part of a processing-stage payload that names its
// sealed personal data.
type sealedEvent struct {
	Source string `json:"source"`
	ID     string `json:"id"`
	Sealed []byte `json:"sealed"`
}

// redactPayloads replaces the sealed personal data of every payload by
// "personal_data": "redacted".
func redactPayloads(dls []usher.DeadLetterRecord) {
	for i := range dls {
		dls[i].Payload, _ = personalView(dls[i].Payload, nil)
	}
}

// personalView returns payload with its "sealed" field replaced by
// "personal_data": the opened personal data when blob is given, "redacted"
// otherwise. A payload without sealed data comes back as it is.
func personalView(payload json.RawMessage, blob *personal.Blob) (json.RawMessage, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(payload, &fields) != nil {
		return payload, false
	}
	if _, ok := fields["sealed"]; !ok {
		return payload, false
	}
	delete(fields, "sealed")
	var shown any = redacted
	if blob != nil {
		shown = blob
	}
	fields["personal_data"], _ = json.Marshal(shown)
	out, err := json.Marshal(fields)
	if err != nil {
		return payload, false
	}
	return out, true
}

// revealPersonal shows the sealed personal data of a dead letter to a caller
// with pii:read once the read is on the audit log; to any other caller, and
// when no master key opens it, the data stays redacted.
func (s *Service) revealPersonal(ctx context.Context, dl *usher.DeadLetterRecord) error {
	var ev sealedEvent
	p, _ := auth.PrincipalFrom(ctx)
	if json.Unmarshal(dl.Payload, &ev) != nil || len(ev.Sealed) == 0 || s.sealer == nil || !p.Has(auth.ScopePIIRead) {
		dl.Payload, _ = personalView(dl.Payload, nil)
		return nil
	}
	blob, err := personal.Open(s.sealer, &usher.InboundEvent{Source: ev.Source, ID: ev.ID, Sealed: ev.Sealed})
	if err != nil {
		s.log.Warn("sealed personal data of a dead letter does not open", "dead_letter_id", dl.ID, "err", err)
		dl.Payload, _ = personalView(dl.Payload, nil)
		return nil
	}
	err = s.st.InTx(ctx, func(tx Tx) error {
		return audit(ctx, tx, ActionPIIRead, "dead_letter", dl.ID, map[string]any{"fields": []string{"personal_data"}})
	})
	if err != nil {
		return usher.WrapError(usher.CodeUnavailable, err, "the read could not be audited, so nothing is shown")
	}
	dl.Payload, _ = personalView(dl.Payload, &blob)
	return nil
}
