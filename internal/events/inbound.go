package events

import "encoding/json"

// InboundValidator checks the canonical data of inbound events at the edge,
// against the current inbound schema of their type. It is safe for
// concurrent use.
type InboundValidator struct{ v *Validator }

// InboundValidator returns the edge's validator of canonical inbound data.
func (c *Catalog) InboundValidator() InboundValidator {
	return InboundValidator{v: c.Validator(Inbound)}
}

// ValidateInbound checks data, the canonical data of an inbound event of type
// typ, against the current schema of typ. A type the catalog does not list
// passes: usher accepts such an event and stores it as ignored
// (unhandled_type), as it does a Stripe event that maps onto no canonical
// type. Data that fails its schema returns a *usher.Error with code
// schema_violation whose cause is a *Violation.
func (iv InboundValidator) ValidateInbound(typ string, data json.RawMessage) error {
	if _, ok := iv.v.c.Lookup(Inbound, typ); !ok {
		return nil
	}
	return iv.v.Validate(typ, InboundVersion, data)
}

// ValidateInboundValue is ValidateInbound of data already decoded as
// jsonschema.UnmarshalJSON decodes it (rawjson.Decode): the receiver
// decodes canonical data once for every step that reads it.
func (iv InboundValidator) ValidateInboundValue(typ string, data any) error {
	if _, ok := iv.v.c.Lookup(Inbound, typ); !ok {
		return nil
	}
	return iv.v.ValidateValue(typ, InboundVersion, data)
}
