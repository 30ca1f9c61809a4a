package usher

import (
	"encoding/json"
	"time"
)

// Envelope is the canonical JSON body of an inbound webhook:
// {"type":"order.paid","timestamp":"2026-11-28T12:00:00Z","data":{…}}.
type Envelope struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// InboundEvent is an accepted, verified webhook as it travels from the
// receiver through the queue to the processor.
type InboundEvent struct {
	Source      string          `json:"source"`
	ID          string          `json:"id"`                 // the provider's event id (webhook-id, Stripe event id)
	Type        string          `json:"type"`               // canonical type, e.g. order.paid
	OrderID     string          `json:"order_id"`           // partition key; "" when the event names no order
	Timestamp   time.Time       `json:"timestamp"`          // the provider's own time of the event
	ReceivedAt  time.Time       `json:"received_at"`        // when the receiver accepted it
	PayloadHash string          `json:"payload_hash"`       // hex SHA-256 of the raw body as signed
	KeyID       string          `json:"key_id"`             // id of the secret that verified the signature
	Data        json.RawMessage `json:"data"`               // canonical data
	Original    json.RawMessage `json:"original,omitempty"` // the provider's own payload when it was not canonical
	// Sealed holds the personal data that the receiver took out of Data and
	// Original, sealed with the master key (package personal); only the
	// processor, filling the vault, and a pii:read operator open it.
	Sealed []byte `json:"sealed,omitempty"`
	// Replay marks an operator's replay of a set-aside event: the processor
	// applies it again instead of treating it as a duplicate.
	Replay bool `json:"replay,omitempty"`
	// TraceParent is the W3C traceparent of the event's receive span: the
	// event's trace travels with it through the queue (per event, as group
	// commit packs several events into one stream write) and survives a
	// restart or a redelivery. Empty when tracing is off.
	TraceParent string `json:"traceparent,omitempty"`
}

// Canonical inbound event types.
const (
	TypeOrderCreated            = "order.created"
	TypeOrderPaid               = "order.paid"
	TypeOrderPaymentFailed      = "order.payment_failed"
	TypeOrderCanceled           = "order.canceled"
	TypeOrderExpired            = "order.expired"
	TypeOrderRefunded           = "order.refunded"
	TypeOrderChargeback         = "order.chargeback"
	TypeOrderChargebackReversed = "order.chargeback_reversed"
	TypeTicketTransferred       = "ticket.transferred"
	TypeInventoryAdjusted       = "inventory.adjusted"
)

// Outbound event types: what usher emits to subscribers. Where an outbound
// type has the name of an inbound one (order.canceled, ticket.transferred…)
// it is the same constant; internal/events holds each type's direction,
// versions and schemas.
const (
	TypeTicketIssued             = "ticket.issued"
	TypeTicketRevoked            = "ticket.revoked"
	TypeTicketReinstated         = "ticket.reinstated"
	TypeTicketAdmitted           = "ticket.admitted"
	TypeOrderPending             = "order.pending"
	TypeOrderConfirmed           = "order.confirmed"
	TypeOrderOversold            = "order.oversold"
	TypeOrderNeedsRefund         = "order.needs_refund"
	TypeOrderPartiallyRefunded   = "order.partially_refunded"
	TypeOrderChargedBack         = "order.charged_back"
	TypeInventoryChanged         = "inventory.changed"
	TypeScanDuplicateEntry       = "scan.duplicate_entry"
	TypeScanAdmittedWhileRevoked = "scan.admitted_while_revoked"
	TypeSubscriptionDisabled     = "subscription.disabled"
	// TypeSubscriptionVersionDeprecated is raised once per subscription and
	// event version when the subscription is on a deprecated version.
	TypeSubscriptionVersionDeprecated = "subscription.version_deprecated"
)

// OrderEventType is the outbound event type announcing that an order
// reached status s: order.confirmed for paid, order.<status> otherwise.
func OrderEventType(s OrderStatus) string {
	switch s {
	case OrderPending:
		return TypeOrderPending
	case OrderCanceled:
		return TypeOrderCanceled
	case OrderExpired:
		return TypeOrderExpired
	case OrderPaymentFailed:
		return TypeOrderPaymentFailed
	case OrderPaid:
		return TypeOrderConfirmed
	case OrderOversold:
		return TypeOrderOversold
	case OrderRefunded:
		return TypeOrderRefunded
	case OrderPartiallyRefunded:
		return TypeOrderPartiallyRefunded
	case OrderChargedBack:
		return TypeOrderChargedBack
	}
	return "order." + string(s)
}

// OrderStatuses lists every order status, for tests that walk them.
func OrderStatuses() []OrderStatus {
	return []OrderStatus{OrderPending, OrderCanceled, OrderExpired, OrderPaymentFailed, OrderPaid,
		OrderOversold, OrderRefunded, OrderPartiallyRefunded, OrderChargedBack}
}
