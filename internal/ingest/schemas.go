package ingest

import (
	"errors"

	"github.com/usherhq/usher"
)

// Schemas checks the canonical data of an inbound event against the
// published schema of its type (internal/events).
type Schemas interface {
	// ValidateInboundValue returns nil for data that validates and for a
	// type without a schema; otherwise a *usher.Error with code
	// usher.CodeSchemaViolation whose cause names the failing place by a
	// JSON pointer into data (JSONPointer() string) and why (Reason()
	// string). data is decoded as rawjson.Decode decodes it.
	ValidateInboundValue(typ string, data any) error
}

// pointed is a cause that names the failing part of a document and why.
type pointed interface {
	JSONPointer() string
	Reason() string
}

// envelopeViolation moves a violation of canonical data into the canonical
// envelope {"type","timestamp","data"}: its pointer starts with /data, so a
// sender finds the field in what it sent (for a Stripe event, in the
// canonical data mapped from it).
type envelopeViolation struct{ cause pointed }

func (v envelopeViolation) Error() string {
	return "at " + v.JSONPointer() + ": " + v.cause.Reason()
}

// JSONPointer returns the pointer of the failing value in the envelope.
func (v envelopeViolation) JSONPointer() string { return "/data" + v.cause.JSONPointer() }

// Reason returns why the value failed.
func (v envelopeViolation) Reason() string { return v.cause.Reason() }

// validate checks the data of an event of type typ, decoded, when the
// receiver has schemas; the data is the data as the sender sent it (or as a Stripe event maps), before personal
// data is sealed away.
func (rc *Receiver) validate(typ string, data map[string]any) error {
	if rc.schemas == nil {
		return nil
	}
	err := rc.schemas.ValidateInboundValue(typ, data)
	var p pointed
	if err == nil || usher.ErrorCode(err) != usher.CodeSchemaViolation || !errors.As(err, &p) {
		return err
	}
	return usher.WrapError(usher.CodeSchemaViolation, envelopeViolation{cause: p}, usher.ErrorMessage(err))
}
