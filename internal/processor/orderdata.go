package processor

import (
	"encoding/json"
	"slices"
	"strings"
)

// orderFields are the JSON keys of orderData, each decoded on its own by
// orderFromFields.
var orderFields = []string{"order_id", "show_id", "venue_id", "items", "hold_expires_at", "ticket_ids", "payment_intent"}

// orderFromFields decodes an order event's data from the data decoded one
// level deep (fields), as json.Unmarshal of the whole data into orderData
// does, but reading only the values of orderData's own keys instead of the
// whole event again. ok is false where the two might differ, and the caller
// then decodes the whole: a key that matches one of orderData's only
// without regard to case (encoding/json would take it), or a value that
// does not decode.
func orderFromFields(fields map[string]json.RawMessage) (d orderData, ok bool) {
	for k := range fields {
		if slices.Contains(orderFields, k) {
			continue
		}
		for _, f := range orderFields {
			if strings.EqualFold(k, f) {
				return orderData{}, false
			}
		}
	}
	targets := []any{&d.OrderID, &d.ShowID, &d.VenueID, &d.Items, &d.HoldExpiresAt, &d.TicketIDs, &d.PaymentIntent}
	for i, f := range orderFields {
		raw, found := fields[f]
		if !found {
			continue
		}
		if err := json.Unmarshal(raw, targets[i]); err != nil {
			return orderData{}, false
		}
	}
	return d, true
}
