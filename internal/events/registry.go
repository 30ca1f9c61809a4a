package events

import "github.com/usherhq/usher"

// Direction says whether usher accepts an event type or emits it.
type Direction string

// Directions. Gate is not a direction of events but the family of gate
// contracts (gate.go): kept, versioned, locked and checked as event schemas
// are, and left out of GET /v1/event-types.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
	Gate     Direction = "gate"
)

// State is where a version is in its life.
type State string

// Version states: a deprecated version has a sunset date, after which it is
// retired; a retired version is refused to a subscription that asks for it.
const (
	Current    State = "current"
	Deprecated State = "deprecated"
	Retired    State = "retired"
)

// Version is one dated version of the payloads of a direction.
type Version struct {
	Name   string
	State  State
	Sunset string // YYYY-MM-DD for a deprecated version, "" otherwise
}

// The outbound versions, oldest first.
const (
	V20260601 = "2026-06-01"
	V20261201 = "2026-12-01"
)

// InboundVersion is the one version of the inbound canonical data.
const InboundVersion = V20261201

// versions lists the versions of a direction, oldest first; the last is
// current.
func versions(d Direction) []Version {
	switch d {
	case Inbound:
		return []Version{{Name: InboundVersion, State: Current}}
	case Gate:
		return []Version{{Name: GateVersion, State: Current}}
	}
	return []Version{
		{Name: V20260601, State: Deprecated, Sunset: "2027-06-01"},
		{Name: V20261201, State: Current},
	}
}

// Def declares one event type: its name (a usher.Type* constant), direction
// and, for an inbound type, the provider events each scheme maps onto it.
type Def struct {
	Type      string
	Direction Direction
	Providers map[string][]string
}

// stripe is the scheme name of Stripe (internal/webhook.SchemeStripe); the
// events listed under it are Stripe's own type names.
const stripe = "stripe"

// Defs lists every event type usher accepts and emits, then the gate
// contracts. Every canonical (Standard Webhooks) inbound type is accepted as
// it is.
func Defs() []Def {
	in := func(t string, stripeTypes ...string) Def {
		d := Def{Type: t, Direction: Inbound}
		if len(stripeTypes) > 0 {
			d.Providers = map[string][]string{stripe: stripeTypes}
		}
		return d
	}
	out := func(t string) Def { return Def{Type: t, Direction: Outbound} }
	gate := func(t string) Def { return Def{Type: t, Direction: Gate} }
	return []Def{
		in(usher.TypeOrderCreated),
		in(usher.TypeOrderPaid, "checkout.session.completed (payment_status paid)",
			"checkout.session.async_payment_succeeded", "payment_intent.succeeded"),
		in(usher.TypeOrderPaymentFailed),
		in(usher.TypeOrderCanceled),
		in(usher.TypeOrderExpired),
		in(usher.TypeOrderRefunded, "charge.refunded (refunded in full)"),
		in(usher.TypeOrderChargeback, "charge.dispute.created"),
		in(usher.TypeOrderChargebackReversed, "charge.dispute.closed (status won)"),
		in(usher.TypeTicketTransferred),
		in(usher.TypeInventoryAdjusted),
		out(usher.TypeOrderPending), out(usher.TypeOrderConfirmed), out(usher.TypeOrderCanceled),
		out(usher.TypeOrderExpired), out(usher.TypeOrderPaymentFailed), out(usher.TypeOrderOversold),
		out(usher.TypeOrderNeedsRefund), out(usher.TypeOrderRefunded), out(usher.TypeOrderPartiallyRefunded),
		out(usher.TypeOrderChargedBack),
		out(usher.TypeTicketIssued), out(usher.TypeTicketRevoked), out(usher.TypeTicketReinstated),
		out(usher.TypeTicketTransferred), out(usher.TypeTicketAdmitted),
		out(usher.TypeInventoryChanged),
		out(usher.TypeScanDuplicateEntry), out(usher.TypeScanAdmittedWhileRevoked),
		out(usher.TypeSubscriptionDisabled), out(usher.TypeSubscriptionVersionDeprecated),
		gate(GateFeedEntry), gate(GateScanAnswer), gate(GateBatchResult),
	}
}

// Change is one change of outbound payloads, introduced by a version: Down
// renders a payload of that version in the version before it, Up the other
// way (nil when the older shape lacks what the newer needs). Allows lists
// the breaking differences (Break.Key) the change makes on purpose; any
// other breaking difference fails Check.
type Change struct {
	Version     string
	Types       []string
	Description string
	Allows      []string
	Down        func(data map[string]any) error
	Up          func(data map[string]any) error
}

// Changes lists every outbound change, oldest first.
func Changes() []Change {
	orderTypes := []string{usher.TypeOrderPending, usher.TypeOrderConfirmed, usher.TypeOrderCanceled,
		usher.TypeOrderExpired, usher.TypeOrderPaymentFailed, usher.TypeOrderOversold, usher.TypeOrderNeedsRefund,
		usher.TypeOrderRefunded, usher.TypeOrderPartiallyRefunded, usher.TypeOrderChargedBack}
	return []Change{{
		Version:     V20261201,
		Types:       orderTypes,
		Description: "Order events carry `previous_status`, the order's status before the change.",
		Allows:      []string{"new_required /properties/previous_status"},
		Down: func(data map[string]any) error {
			delete(data, "previous_status")
			return nil
		},
	}}
}
