package webhook_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/webhook"
)

// stripeFixture is a Stripe event under testdata/stripe/ and what it maps to.
type stripeFixture struct {
	file      string
	wantType  string
	wantData  string // "" means data.object, for an unmapped event
	wantTS    int64
	wantOrder string // OrderIDOf the envelope
}

// stripeFixtures returns the realistic Stripe events of testdata/stripe/.
func stripeFixtures() []stripeFixture {
	const order = `"order_id":"ord_01JDZ8Y3K4M5N6P7Q8R9S0T1V2"`
	const pi = `"payment_intent":"pi_3QOvC8LkdIwHu7ix0nVv3Kq7"`
	const items = `"items":[{"ticket_type":"GA","quantity":2},{"ticket_type":"VIP","quantity":1}]`
	const show = `"show_id":"shw_01JDZ7W2X3Y4Z5A6B7C8D9E0F1"`
	const venue = `"venue_id":"ven_01JDZ6V1W2X3Y4Z5A6B7C8D9E0"`
	const ada = `"buyer":{"email":"ada.lovelace@example.com","name":"Ada Lovelace"}`
	return []stripeFixture{
		{"checkout_session_completed.json", usher.TypeOrderPaid, `{` + order + `,` + show + `,` + venue + `,` + items + `,` + ada + `,` + pi + `}`, testUnix, "ord_01JDZ8Y3K4M5N6P7Q8R9S0T1V2"},
		{"checkout_session_completed_unpaid.json", "stripe.checkout.session.completed", "", testUnix, ""},
		{"checkout_session_async_payment_succeeded.json", usher.TypeOrderPaid,
			`{"order_id":"ord_01JDZ9A1B2C3D4E5F6G7H8J9K0",` + show + `,"items":[{"ticket_type":"GA","quantity":4}],"buyer":{"email":"grace.hopper@example.com","name":"Grace Hopper"},"payment_intent":"pi_3QOvD1LkdIwHu7ix1pWq8RtY"}`, testUnix + 172800, "ord_01JDZ9A1B2C3D4E5F6G7H8J9K0"},
		{"payment_intent_succeeded.json", usher.TypeOrderPaid, `{` + order + `,` + show + `,` + venue + `,` + items + `,` + ada + `,` + pi + `}`, testUnix - 1, "ord_01JDZ8Y3K4M5N6P7Q8R9S0T1V2"},
		{"charge_refunded.json", usher.TypeOrderRefunded, `{` + order + `,` + pi + `}`, testUnix + 3600, "ord_01JDZ8Y3K4M5N6P7Q8R9S0T1V2"},
		{"charge_refunded_partial.json", "stripe.charge.refunded", "", testUnix + 3600, ""},
		{"charge_dispute_created.json", usher.TypeOrderChargeback, `{` + pi + `,"charge":"ch_3QOvC8LkdIwHu7ix0Y1mZbQk"}`, testUnix + 86400, ""},
		{"charge_dispute_closed_won.json", usher.TypeOrderChargebackReversed, `{` + order + `,` + pi + `,"charge":"ch_3QOvC8LkdIwHu7ix0Y1mZbQk"}`, testUnix + 2592000, "ord_01JDZ8Y3K4M5N6P7Q8R9S0T1V2"},
		{"charge_dispute_closed_lost.json", "stripe.charge.dispute.closed", "", testUnix + 2592000, ""},
		{"customer_created.json", "stripe.customer.created", "", testUnix - 5, ""},
	}
}

// dataObject returns data.object of a Stripe event.
func dataObject(t *testing.T, body []byte) []byte {
	t.Helper()
	var ev struct {
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Data.Object
}

func TestStripeNormalizeFixtures(t *testing.T) {
	t.Parallel()
	s := mustScheme(t, webhook.SchemeStripe)
	for _, tt := range stripeFixtures() {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body := readTestdata(t, "stripe/"+tt.file)
			env, original, err := s.Normalize(webhook.Verified{}, body)
			if err != nil {
				t.Fatalf("Normalize() error = %v", err)
			}
			if env.Type != tt.wantType {
				t.Errorf("Type = %q, want %q", env.Type, tt.wantType)
			}
			if want := time.Unix(tt.wantTS, 0).UTC(); !env.Timestamp.Equal(want) {
				t.Errorf("Timestamp = %v, want %v", env.Timestamp, want)
			}
			want := []byte(tt.wantData)
			if tt.wantData == "" {
				want = dataObject(t, body)
			}
			if !jsonEqual(t, env.Data, want) {
				t.Errorf("Data = %s, want %s", env.Data, want)
			}
			if got := webhook.OrderIDOf(env); got != tt.wantOrder {
				t.Errorf("OrderIDOf() = %q, want %q", got, tt.wantOrder)
			}
			if !bytes.Equal(original, body) {
				t.Errorf("original = %.60s…, want the body", original)
			}
			if len(body) > 0 && len(original) > 0 && &original[0] == &body[0] {
				t.Errorf("original aliases the body, want a copy")
			}
		})
	}
}

func TestStripeNormalizeEdges(t *testing.T) {
	t.Parallel()
	s := mustScheme(t, webhook.SchemeStripe)
	event := func(typ, object string) string {
		return `{"id":"evt_1","object":"event","type":"` + typ + `","created":1795867200,"data":{"object":` + object + `}}`
	}
	tests := []struct {
		name     string
		body     string
		wantType string
		wantData string // "" means data.object
		wantCode usher.Code
	}{
		{name: "checkout without order is not ours", body: event("checkout.session.completed", `{"id":"cs_1","payment_status":"paid","payment_intent":"pi_1","metadata":{}}`), wantType: "stripe.checkout.session.completed"},
		{name: "checkout no payment required", body: event("checkout.session.completed", `{"id":"cs_1","payment_status":"no_payment_required","payment_intent":null,"metadata":{"order_id":"ord_1"}}`), wantType: "stripe.checkout.session.completed"},
		{name: "async success ignores payment_status", body: event("checkout.session.async_payment_succeeded", `{"id":"cs_1","payment_intent":"pi_1","metadata":{"order_id":"ord_1"}}`), wantType: "order.paid", wantData: `{"order_id":"ord_1","payment_intent":"pi_1"}`},
		{name: "payment intent without order", body: event("payment_intent.succeeded", `{"id":"pi_1","metadata":{"show_id":"shw_1"}}`), wantType: "stripe.payment_intent.succeeded"},
		{name: "receipt email and metadata name", body: event("payment_intent.succeeded", `{"id":"pi_1","receipt_email":"r@example.com","metadata":{"order_id":"ord_1","buyer_email":"m@example.com","buyer_name":"M"}}`), wantType: "order.paid", wantData: `{"order_id":"ord_1","buyer":{"email":"r@example.com","name":"M"},"payment_intent":"pi_1"}`},
		{name: "metadata buyer email", body: event("payment_intent.succeeded", `{"id":"pi_1","receipt_email":null,"metadata":{"order_id":"ord_1","buyer_email":"m@example.com"}}`), wantType: "order.paid", wantData: `{"order_id":"ord_1","buyer":{"email":"m@example.com"},"payment_intent":"pi_1"}`},
		{name: "ticket type without quantity", body: event("payment_intent.succeeded", `{"id":"pi_1","metadata":{"order_id":"ord_1","ticket_type":"GA"}}`), wantType: "order.paid", wantData: `{"order_id":"ord_1","items":[{"ticket_type":"GA","quantity":1}],"payment_intent":"pi_1"}`},
		{name: "items win over ticket type", body: event("payment_intent.succeeded", `{"id":"pi_1","metadata":{"order_id":"ord_1","ticket_type":"GA","quantity":"9","items":"[{\"ticket_type\":\"VIP\",\"quantity\":1}]"}}`), wantType: "order.paid", wantData: `{"order_id":"ord_1","items":[{"ticket_type":"VIP","quantity":1}],"payment_intent":"pi_1"}`},
		{name: "expanded payment intent", body: event("checkout.session.completed", `{"id":"cs_1","payment_status":"paid","payment_intent":{"id":"pi_9","object":"payment_intent"},"metadata":{"order_id":"ord_1"}}`), wantType: "order.paid", wantData: `{"order_id":"ord_1","payment_intent":"pi_9"}`},
		{name: "refund without order", body: event("charge.refunded", `{"id":"ch_1","refunded":true,"payment_intent":"pi_1","metadata":{}}`), wantType: "stripe.charge.refunded"},
		{name: "dispute with null payment intent", body: event("charge.dispute.created", `{"id":"du_1","charge":"ch_1","payment_intent":null,"metadata":{"order_id":"ord_1"}}`), wantType: "order.chargeback", wantData: `{"order_id":"ord_1","charge":"ch_1"}`},
		{name: "dispute closed warning", body: event("charge.dispute.closed", `{"id":"du_1","status":"warning_closed","charge":"ch_1"}`), wantType: "stripe.charge.dispute.closed"},
		{name: "v2-style type", body: event("v1.billing.meter.error_report_triggered", `{}`), wantType: "stripe.v1.billing.meter.error_report_triggered"},
		{name: "not json", body: `evt`, wantCode: usher.CodeMalformedEnvelope},
		{name: "json array", body: `[]`, wantCode: usher.CodeMalformedEnvelope},
		{name: "missing type", body: `{"id":"evt_1","created":1795867200,"data":{"object":{}}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "type with spaces", body: event("charge refunded", `{}`), wantCode: usher.CodeMalformedEnvelope},
		{name: "missing created", body: `{"id":"evt_1","type":"customer.created","data":{"object":{}}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "created as string", body: `{"id":"evt_1","type":"customer.created","created":"1795867200","data":{"object":{}}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "created past 9999", body: `{"id":"evt_1","type":"customer.created","created":253402300800,"data":{"object":{}}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "missing data", body: `{"id":"evt_1","type":"customer.created","created":1795867200}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "object is an array", body: event("customer.created", `[]`), wantCode: usher.CodeMalformedEnvelope},
		{name: "object is null", body: event("customer.created", `null`), wantCode: usher.CodeMalformedEnvelope},
		{name: "metadata not strings", body: event("payment_intent.succeeded", `{"id":"pi_1","metadata":{"order_id":7}}`), wantCode: usher.CodeMalformedEnvelope},
		{name: "items not json", body: event("payment_intent.succeeded", `{"id":"pi_1","metadata":{"order_id":"ord_1","items":"GA x2"}}`), wantCode: usher.CodeMalformedEnvelope},
		{name: "items with zero quantity", body: event("payment_intent.succeeded", `{"id":"pi_1","metadata":{"order_id":"ord_1","items":"[{\"ticket_type\":\"GA\",\"quantity\":0}]"}}`), wantCode: usher.CodeMalformedEnvelope},
		{name: "items without ticket type", body: event("payment_intent.succeeded", `{"id":"pi_1","metadata":{"order_id":"ord_1","items":"[{\"quantity\":1}]"}}`), wantCode: usher.CodeMalformedEnvelope},
		{name: "quantity not a number", body: event("payment_intent.succeeded", `{"id":"pi_1","metadata":{"order_id":"ord_1","ticket_type":"GA","quantity":"two"}}`), wantCode: usher.CodeMalformedEnvelope},
		{name: "checkout payment intent is a number", body: event("checkout.session.completed", `{"id":"cs_1","payment_status":"paid","payment_intent":7,"metadata":{"order_id":"ord_1"}}`), wantCode: usher.CodeMalformedEnvelope},
		{name: "dispute payment intent is an array", body: event("charge.dispute.created", `{"id":"du_1","charge":"ch_1","payment_intent":["pi_1"]}`), wantCode: usher.CodeMalformedEnvelope},
		{name: "dispute charge is a bool", body: event("charge.dispute.created", `{"id":"du_1","charge":true,"payment_intent":"pi_1"}`), wantCode: usher.CodeMalformedEnvelope},
		{name: "expanded charge without id", body: event("charge.dispute.created", `{"id":"du_1","charge":{"id":5},"payment_intent":"pi_1"}`), wantCode: usher.CodeMalformedEnvelope},
		{name: "payment intent is a number", body: event("charge.refunded", `{"id":"ch_1","refunded":true,"payment_intent":7,"metadata":{"order_id":"ord_1"}}`), wantCode: usher.CodeMalformedEnvelope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, original, err := s.Normalize(webhook.Verified{}, []byte(tt.body))
			checkCode(t, err, tt.wantCode)
			if tt.wantCode != "" {
				if original != nil || env.Type != "" {
					t.Errorf("Normalize() = %+v, %s on error, want zero values", env, original)
				}
				return
			}
			if env.Type != tt.wantType {
				t.Errorf("Type = %q, want %q", env.Type, tt.wantType)
			}
			want := []byte(tt.wantData)
			if tt.wantData == "" {
				want = dataObject(t, []byte(tt.body))
			}
			if !jsonEqual(t, env.Data, want) {
				t.Errorf("Data = %s, want %s", env.Data, want)
			}
		})
	}
}
