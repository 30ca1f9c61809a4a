package events_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/rawjson"
)

func TestValidateRefusesWithPointerAndReason(t *testing.T) {
	t.Parallel()
	v := load(t).Validator(events.Inbound)
	tests := []struct {
		name, typ, data, pointer, reason string
	}{
		{"missing field", usher.TypeOrderPaid, `{"show_id":"s","venue_id":"v","items":[{"ticket_type":"GA","quantity":1}]}`, "/order_id", "missing property"},
		{"bad identifier", usher.TypeOrderPaid, `{"order_id":"o 1","show_id":"s","venue_id":"v","items":[{"ticket_type":"GA","quantity":1}]}`, "/order_id", "does not match pattern"},
		{"nested", usher.TypeOrderCreated, `{"order_id":"o","show_id":"s","venue_id":"v","items":[{"ticket_type":"GA","quantity":0}]}`, "/items/0/quantity", "minimum"},
		{"wrong type", usher.TypeInventoryAdjusted, `{"show_id":"s","ticket_type":"GA","capacity":"ten"}`, "/capacity", "want integer"},
		{"not an object", usher.TypeOrderCanceled, `[1]`, "", "want object"},
		{"names no order", usher.TypeOrderRefunded, `{"ticket_ids":["t1"]}`, "/order_id", "missing property"},
		{"not JSON", usher.TypeOrderPaid, `{"order_id":`, "", "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := v.Validate(tt.typ, "", []byte(tt.data))
			if usher.ErrorCode(err) != usher.CodeSchemaViolation {
				t.Fatalf("got %v, want a schema_violation", err)
			}
			var viol *events.Violation
			if !errors.As(err, &viol) {
				t.Fatalf("%v carries no *events.Violation", err)
			}
			if viol.JSONPointer() != tt.pointer || !strings.Contains(viol.Reason(), tt.reason) {
				t.Errorf("got pointer %q reason %q, want %q and a reason with %q", viol.JSONPointer(), viol.Reason(), tt.pointer, tt.reason)
			}
		})
	}
}

func TestValidateUnknownTypeOrVersion(t *testing.T) {
	t.Parallel()
	c := load(t)
	for _, tc := range []struct {
		dir          events.Direction
		typ, version string
	}{
		{events.Inbound, "stripe.customer.created", ""},
		{events.Inbound, usher.TypeTicketIssued, ""},
		{events.Outbound, usher.TypeTicketIssued, "2025-01-01"},
	} {
		err := c.Validator(tc.dir).Validate(tc.typ, tc.version, []byte(`{}`))
		if !errors.Is(err, events.ErrUnknownType) || usher.ErrorCode(err) != usher.CodeInvalid {
			t.Errorf("%s %s %q: got %v, want invalid_request wrapping ErrUnknownType", tc.dir, tc.typ, tc.version, err)
		}
	}
}

// TestSchemaViolationProblem renders a violation the way the receiver will:
// 400 problem+json with its type URI, the pointer and the reason.
func TestSchemaViolationProblem(t *testing.T) {
	t.Parallel()
	err := load(t).Validator(events.Inbound).Validate(usher.TypeInventoryAdjusted, "", []byte(`{"show_id":"s","ticket_type":"GA","capacity":-1}`))
	rec := httptest.NewRecorder()
	problem.Write(rec, httptest.NewRequest(http.MethodPost, "/webhooks/shop", nil), err)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 400 || body["type"] != problem.TypeBase+"schema-violation" || body["code"] != "schema_violation" ||
		body["pointer"] != "/capacity" || !strings.Contains(body["reason"].(string), "minimum") {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
}

// TestIdentifierGrammarAgrees checks the schemas' identifier pattern against
// the grammar in Go: both give the same answer on the edge cases.
func TestIdentifierGrammarAgrees(t *testing.T) {
	t.Parallel()
	grammar := regexp.MustCompile(idPattern)
	v := load(t).Validator(events.Inbound)
	for _, id := range []string{"a", "ord_1", "A-Z.0:9_", strings.Repeat("x", 128), strings.Repeat("x", 129), "", "o 1", "ord/1", "é", "o\n", "-lead"} {
		data, _ := json.Marshal(map[string]any{"order_id": id})
		schemaOK := v.Validate(usher.TypeOrderCanceled, "", data) == nil
		if want := grammar.MatchString(id); schemaOK != want {
			t.Errorf("id %q: schema says %v, grammar says %v", id, schemaOK, want)
		}
	}
}

// TestValidateInboundValueMatchesValidateInbound: data the receiver decodes
// once (rawjson.Decode) validates as the bytes do, to the same message.
func TestValidateInboundValueMatchesValidateInbound(t *testing.T) {
	t.Parallel()
	c := load(t)
	iv := c.InboundValidator()
	docs := []struct{ typ, data string }{
		{usher.TypeOrderPaid, `{"order_id":"o","show_id":"s","venue_id":"v","items":[{"ticket_type":"GA","quantity":2}],"buyer":{"email":"a@b.c"}}`},
		{usher.TypeOrderPaid, `{"show_id":"s","venue_id":"v","items":[{"ticket_type":"GA","quantity":1}]}`},
		{usher.TypeOrderCreated, `{"order_id":"o","show_id":"s","venue_id":"v","items":[{"ticket_type":"GA","quantity":0}]}`},
		{usher.TypeOrderCreated, `{"order_id":"o","show_id":"s","venue_id":"v","items":[{"ticket_type":"GA","quantity":1.5}]}`},
		{usher.TypeOrderCreated, `{"order_id":"o","show_id":"s","venue_id":"v","items":[{"ticket_type":"GA","quantity":1e400}]}`},
		{usher.TypeInventoryAdjusted, `{"show_id":"s","ticket_type":"GA","capacity":"ten"}`},
		{"stripe.customer.created", `{"anything":true}`},
	}
	for _, e := range c.Entries() {
		for _, v := range e.Versions {
			for _, ex := range v.Examples {
				docs = append(docs, struct{ typ, data string }{e.Type, string(ex)})
			}
		}
	}
	for _, d := range docs {
		doc, ok := rawjson.Decode([]byte(d.data))
		if !ok {
			t.Fatalf("%s does not decode", d.data)
		}
		want := iv.ValidateInbound(d.typ, json.RawMessage(d.data))
		got := iv.ValidateInboundValue(d.typ, doc)
		if fmt.Sprint(got) != fmt.Sprint(want) || usher.ErrorMessage(got) != usher.ErrorMessage(want) {
			t.Errorf("%s %s: ValidateInboundValue = %v, ValidateInbound = %v", d.typ, d.data, got, want)
		}
	}
}
