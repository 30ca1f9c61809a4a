package processor

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzOrderFromFields: wherever orderFromFields answers, it answers what
// json.Unmarshal of the whole data into orderData does. The one input left
// out is a top-level key given twice, where the map keeps the last value
// (as the receiver's schema check saw it) and the struct decoder also
// reports an error on an earlier value.
func FuzzOrderFromFields(f *testing.F) {
	for _, s := range []string{
		`{"order_id":"ord_1","show_id":"s","venue_id":"v","items":[{"ticket_type":"GA","quantity":2}],"note":"x"}`,
		`{"order_id":"ord_1","hold_expires_at":"2026-12-02T10:00:00Z","ticket_ids":["t1","t2"],"payment_intent":"pi_1"}`,
		`{"ORDER_ID":"ord_1"}`, `{"items":null,"order_id":null}`, `{"items":[{"Quantity":"2"}]}`,
		`{"order_id":1}`, `{"hold_expires_at":"yesterday"}`, `{"order_id":"a","order_id":"b"}`, `[]`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fields map[string]json.RawMessage
		if json.Unmarshal(data, &fields) != nil || fields == nil || repeatsAKey(data) {
			return
		}
		got, ok := orderFromFields(fields)
		if !ok {
			return
		}
		var want orderData
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("orderFromFields(%s) = %+v, but json.Unmarshal fails: %v", data, got, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("orderFromFields(%s) = %+v, json.Unmarshal = %+v", data, got, want)
		}
	})
}

func TestOrderFromFieldsLeavesCaseVariantsToTheWholeDecode(t *testing.T) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(`{"Order_ID":"ord_1","show_id":"s"}`), &fields); err != nil {
		t.Fatal(err)
	}
	if d, ok := orderFromFields(fields); ok {
		t.Fatalf("orderFromFields answered %+v for a case variant of order_id", d)
	}
}

// repeatsAKey reports whether the JSON object data names a top-level key
// more than once.
func repeatsAKey(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return false
		}
		key, _ := k.(string)
		if seen[key] {
			return true
		}
		seen[key] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}
