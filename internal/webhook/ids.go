package webhook

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/usherhq/usher"
)

// idFields names the canonical data fields that hold identifiers: each, when
// present and not empty, must follow usher's identifier grammar
// (usher.ValidateID). They become keys in the store, partition keys and
// parts of scopes and URLs.
var idFields = []string{"order_id", "show_id", "venue_id", "ticket_id", "ticket_type", "payment_intent", "charge"}

// idData is the part of canonical data that checkIDs reads.
type idData struct {
	Fields    map[string]json.RawMessage
	TicketIDs []json.RawMessage `json:"ticket_ids"`
	Items     []struct {
		TicketType json.RawMessage `json:"ticket_type"`
	} `json:"items"`
}

// checkIDs refuses canonical data whose identifiers break the grammar, with
// a *usher.Error of code usher.CodeMalformedEnvelope naming the field as
// name gives it for a canonical field (e.g. "data.order_id",
// "data.items[2].ticket_type").
func checkIDs(data json.RawMessage, name func(field string) string) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return usher.WrapError(usher.CodeMalformedEnvelope, fmt.Errorf("decode data: %w", err), "envelope data is not a JSON object")
	}
	return checkFieldIDs(fields, name)
}

// checkFieldIDs is checkIDs of data already decoded one level deep.
func checkFieldIDs(fields map[string]json.RawMessage, name func(field string) string) error {
	d := idData{Fields: fields}
	for _, field := range idFields {
		if err := checkID(func() string { return name(field) }, d.Fields[field]); err != nil {
			return err
		}
	}
	if raw, ok := d.Fields["ticket_ids"]; ok {
		if err := json.Unmarshal(raw, &d.TicketIDs); err != nil {
			return usher.Errorf(usher.CodeMalformedEnvelope, "%s must be an array of strings", name("ticket_ids"))
		}
	}
	for i, raw := range d.TicketIDs {
		if err := checkID(func() string { return name("ticket_ids[" + strconv.Itoa(i) + "]") }, raw); err != nil {
			return err
		}
	}
	if raw, ok := d.Fields["items"]; ok {
		if err := json.Unmarshal(raw, &d.Items); err != nil {
			return usher.Errorf(usher.CodeMalformedEnvelope, "%s must be an array of objects", name("items"))
		}
	}
	for i, it := range d.Items {
		if err := checkID(func() string { return name("items[" + strconv.Itoa(i) + "].ticket_type") }, it.TicketType); err != nil {
			return err
		}
	}
	return nil
}

// decodedIDsValid is checkFieldIDs of data decoded whole
// (rawjson.Object.Values) when it finds nothing wrong: true when every
// identifier follows the grammar. false when one does not, or when only
// encoding/json's case-insensitive matching tells which item field is the
// ticket type: checkFieldIDs then decides and names the field.
func decodedIDsValid(data map[string]any) bool {
	for _, field := range idFields {
		if !decodedIDValid(data[field]) {
			return false
		}
	}
	switch ids := data["ticket_ids"].(type) {
	case nil: // absent or null: no ids
	case []any:
		for _, id := range ids {
			if !decodedIDValid(id) {
				return false
			}
		}
	default:
		return false
	}
	switch items := data["items"].(type) {
	case nil:
	case []any:
		for _, it := range items {
			if !decodedItemValid(it) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

// decodedItemValid checks the ticket type of one decoded item, which is
// null (a zero item) or an object.
func decodedItemValid(item any) bool {
	switch fields := item.(type) {
	case nil:
		return true
	case map[string]any:
		for k, v := range fields {
			if k == "ticket_type" {
				if !decodedIDValid(v) {
					return false
				}
			} else if folded(k, len("ticket_type")) == "TICKET_TYPE" {
				return false
			}
		}
		return true
	}
	return false
}

// decodedIDValid is checkID of a decoded value without the error: null
// (or absent), "" and an identifier that follows the grammar pass.
func decodedIDValid(v any) bool {
	switch s := v.(type) {
	case nil:
		return true
	case string:
		return s == "" || usher.ValidID(s)
	}
	return false
}

// checkID checks one identifier field: absent, null and "" pass (the
// processor decides whether the event needs it); anything else must be a
// string that follows the grammar. field names it, and is only called for
// an error message (naming costs an allocation per field otherwise).
func checkID(field func() string, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	s, ok := plainString(raw)
	if !ok {
		if err := json.Unmarshal(raw, &s); err != nil {
			return usher.Errorf(usher.CodeMalformedEnvelope, "%s must be a string", field())
		}
	}
	if s == "" || usher.ValidID(s) {
		return nil
	}
	if err := usher.ValidateID(field(), s); err != nil {
		return usher.WrapError(usher.CodeMalformedEnvelope, err, usher.ErrorMessage(err))
	}
	return nil
}

// plainString returns the JSON string raw holds when it is printable ASCII
// without escapes, which is what decoding it would give, without the
// decoder; anything else is left to json.Unmarshal.
func plainString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	for _, c := range raw[1 : len(raw)-1] {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(raw[1 : len(raw)-1]), true
}

// canonicalField names a field of a canonical envelope's data.
func canonicalField(field string) string { return "data." + field }

// stripeField names the field of a Stripe event that a canonical field was
// mapped from (see mapStripe).
func stripeField(field string) string {
	switch field {
	case "payment_intent", "charge":
		return "data.object." + field
	case "order_id", "show_id", "venue_id":
		return "data.object.metadata." + field
	}
	return "data.object.metadata.items (" + field + ")"
}
