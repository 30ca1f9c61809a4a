package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// Stripe event types that map onto canonical types.
const (
	stripeCheckoutCompleted    = "checkout.session.completed"
	stripeCheckoutAsyncSuccess = "checkout.session.async_payment_succeeded"
	stripePaymentSucceeded     = "payment_intent.succeeded"
	stripeChargeRefunded       = "charge.refunded"
	stripeDisputeCreated       = "charge.dispute.created"
	stripeDisputeClosed        = "charge.dispute.closed"
)

// stripeTypePrefix starts the type of a Stripe event that maps onto no
// canonical type: such an event is accepted and stored but has no effect.
const stripeTypePrefix = "stripe."

// stripeEvent is the part of a Stripe event that Normalize reads.
type stripeEvent struct {
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// stripeObject is the part of data.object that the mapped types read: a
// Checkout Session, a PaymentIntent, a Charge or a Dispute.
type stripeObject struct {
	ID              string            `json:"id"`
	PaymentStatus   string            `json:"payment_status"`
	Status          string            `json:"status"`
	Refunded        bool              `json:"refunded"`
	PaymentIntent   json.RawMessage   `json:"payment_intent"`
	Charge          json.RawMessage   `json:"charge"`
	ReceiptEmail    string            `json:"receipt_email"`
	Metadata        map[string]string `json:"metadata"`
	CustomerDetails struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"customer_details"`
}

// Normalize maps a Stripe event onto a canonical envelope (see mapStripe)
// whose timestamp is the event's "created"; original is a copy of body.
func (stripeScheme) Normalize(_ Verified, body []byte) (usher.Envelope, []byte, error) {
	var ev stripeEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return usher.Envelope{}, nil, usher.WrapError(usher.CodeMalformedEnvelope, fmt.Errorf("decode stripe event: %w", err), "body is not a Stripe event")
	}
	if err := checkType(stripeTypePrefix + ev.Type); err != nil || ev.Type == "" {
		return usher.Envelope{}, nil, usher.Errorf(usher.CodeMalformedEnvelope, "stripe event type is missing or malformed")
	}
	created := time.Unix(ev.Created, 0).UTC()
	if !inRange(created) {
		return usher.Envelope{}, nil, usher.Errorf(usher.CodeMalformedEnvelope, "stripe event created time is missing or out of range")
	}
	obj, ok := jsonObject(ev.Data.Object)
	if !ok {
		return usher.Envelope{}, nil, usher.Errorf(usher.CodeMalformedEnvelope, "stripe event data.object is not a JSON object")
	}
	typ, data, err := mapStripe(ev.Type, obj)
	if err != nil {
		return usher.Envelope{}, nil, err
	}
	if !strings.HasPrefix(typ, stripeTypePrefix) {
		if err := checkIDs(data, stripeField); err != nil {
			return usher.Envelope{}, nil, err
		}
	}
	env := usher.Envelope{Type: typ, Timestamp: created, Data: data}
	return env, bytes.Clone(body), nil
}

// mapStripe returns the canonical type and data of a Stripe event:
//
//   - checkout.session.completed when paid, checkout.session.async_payment_succeeded
//     and payment_intent.succeeded: order.paid
//   - charge.refunded when fully refunded: order.refunded
//   - charge.dispute.created: order.chargeback
//   - charge.dispute.closed when won: order.chargeback_reversed
//
// The order events need metadata.order_id, except the chargebacks, which
// name the payment intent and charge instead. Every other event becomes
// "stripe.<type>" with data.object as its data.
func mapStripe(typ string, obj json.RawMessage) (string, json.RawMessage, error) {
	mapper := stripeMapper(typ)
	if mapper == nil {
		return stripeTypePrefix + typ, obj, nil
	}
	var o stripeObject
	if err := json.Unmarshal(obj, &o); err != nil {
		return "", nil, usher.WrapError(usher.CodeMalformedEnvelope, fmt.Errorf("decode %s object: %w", typ, err), "stripe event data.object is malformed")
	}
	canonical, data, err := mapper(typ, o)
	if err != nil {
		return "", nil, err
	}
	if canonical == "" {
		return stripeTypePrefix + typ, obj, nil
	}
	out, err := json.Marshal(data)
	if err != nil {
		return "", nil, fmt.Errorf("encode %s data: %w", canonical, err)
	}
	return canonical, out, nil
}

// stripeMapper returns the function that maps events of type typ, or nil
// when no canonical type exists for typ. A mapper returns "" when this event
// of its type maps onto nothing after all.
func stripeMapper(typ string) func(typ string, o stripeObject) (string, any, error) {
	switch typ {
	case stripeCheckoutCompleted, stripeCheckoutAsyncSuccess, stripePaymentSucceeded:
		return stripePaid
	case stripeChargeRefunded:
		return stripeRefunded
	case stripeDisputeCreated, stripeDisputeClosed:
		return stripeDispute
	}
	return nil
}

// orderPaidData is the data of order.paid.
type orderPaidData struct {
	OrderID       string     `json:"order_id"`
	ShowID        string     `json:"show_id,omitempty"`
	VenueID       string     `json:"venue_id,omitempty"`
	Items         []lineItem `json:"items,omitempty"`
	Buyer         *buyer     `json:"buyer,omitempty"`
	PaymentIntent string     `json:"payment_intent,omitempty"`
}

// lineItem is one ticket type and quantity of an order.
type lineItem struct {
	TicketType string `json:"ticket_type"`
	Quantity   int    `json:"quantity"`
}

// buyer is who paid for an order.
type buyer struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

// orderRefundedData is the data of order.refunded.
type orderRefundedData struct {
	OrderID       string `json:"order_id"`
	PaymentIntent string `json:"payment_intent,omitempty"`
}

// chargebackData is the data of order.chargeback and order.chargeback_reversed.
type chargebackData struct {
	OrderID       string `json:"order_id,omitempty"`
	PaymentIntent string `json:"payment_intent,omitempty"`
	Charge        string `json:"charge,omitempty"`
}

// stripePaid maps a paid Checkout Session or a succeeded PaymentIntent that
// names an order onto order.paid; it returns "" for any other.
func stripePaid(typ string, o stripeObject) (string, any, error) {
	orderID := o.Metadata["order_id"]
	if orderID == "" || typ == stripeCheckoutCompleted && o.PaymentStatus != "paid" {
		return "", nil, nil
	}
	items, err := stripeItems(o.Metadata)
	if err != nil {
		return "", nil, err
	}
	pi := o.ID
	if typ != stripePaymentSucceeded {
		if pi, err = stripeID(o.PaymentIntent, "payment_intent"); err != nil {
			return "", nil, err
		}
	}
	d := orderPaidData{
		OrderID:       orderID,
		ShowID:        o.Metadata["show_id"],
		VenueID:       o.Metadata["venue_id"],
		Items:         items,
		PaymentIntent: pi,
	}
	b := buyer{
		Email: firstNonEmpty(o.CustomerDetails.Email, o.ReceiptEmail, o.Metadata["buyer_email"]),
		Name:  firstNonEmpty(o.CustomerDetails.Name, o.Metadata["buyer_name"]),
	}
	if b != (buyer{}) {
		d.Buyer = &b
	}
	return usher.TypeOrderPaid, d, nil
}

// stripeRefunded maps a fully refunded Charge that names an order onto
// order.refunded; it returns "" for a partial refund or no order.
func stripeRefunded(_ string, o stripeObject) (string, any, error) {
	orderID := o.Metadata["order_id"]
	if orderID == "" || !o.Refunded {
		return "", nil, nil
	}
	pi, err := stripeID(o.PaymentIntent, "payment_intent")
	if err != nil {
		return "", nil, err
	}
	return usher.TypeOrderRefunded, orderRefundedData{OrderID: orderID, PaymentIntent: pi}, nil
}

// stripeDispute maps an opened Dispute onto order.chargeback and a won one
// onto order.chargeback_reversed; it returns "" for any other closed one.
func stripeDispute(typ string, o stripeObject) (string, any, error) {
	canonical := usher.TypeOrderChargeback
	if typ == stripeDisputeClosed {
		if o.Status != "won" {
			return "", nil, nil
		}
		canonical = usher.TypeOrderChargebackReversed
	}
	pi, err := stripeID(o.PaymentIntent, "payment_intent")
	if err != nil {
		return "", nil, err
	}
	charge, err := stripeID(o.Charge, "charge")
	if err != nil {
		return "", nil, err
	}
	return canonical, chargebackData{OrderID: o.Metadata["order_id"], PaymentIntent: pi, Charge: charge}, nil
}

// stripeItems reads an order's line items from metadata.items, a JSON array
// of {"ticket_type","quantity"}, or else from metadata.ticket_type and
// metadata.quantity (1 when absent). It returns nil when neither is set.
func stripeItems(md map[string]string) ([]lineItem, error) {
	if raw, ok := md["items"]; ok {
		var items []lineItem
		if err := json.Unmarshal([]byte(raw), &items); err != nil {
			return nil, usher.WrapError(usher.CodeMalformedEnvelope, fmt.Errorf("decode metadata.items: %w", err), "stripe metadata.items is not a JSON array of items")
		}
		for _, it := range items {
			if it.TicketType == "" || it.Quantity <= 0 {
				return nil, usher.Errorf(usher.CodeMalformedEnvelope, "stripe metadata.items needs a ticket_type and a positive quantity in every item")
			}
		}
		return items, nil
	}
	tt := md["ticket_type"]
	if tt == "" {
		return nil, nil
	}
	qty := 1
	if s, ok := md["quantity"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return nil, usher.Errorf(usher.CodeMalformedEnvelope, "stripe metadata.quantity is not a positive integer")
		}
		qty = n
	}
	return []lineItem{{TicketType: tt, Quantity: qty}}, nil
}

// stripeID returns the id that a Stripe reference field holds: a string id,
// an expanded object's "id", or "" for null or absent.
func stripeID(raw json.RawMessage, field string) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var (
		id  string
		err error
	)
	if raw[0] == '{' {
		var obj struct {
			ID string `json:"id"`
		}
		err = json.Unmarshal(raw, &obj)
		id = obj.ID
	} else {
		err = json.Unmarshal(raw, &id)
	}
	if err != nil {
		return "", usher.WrapError(usher.CodeMalformedEnvelope, fmt.Errorf("decode %s: %w", field, err), "stripe "+field+" is neither an id nor an object")
	}
	return id, nil
}

// firstNonEmpty returns the first of values that is not "".
func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
