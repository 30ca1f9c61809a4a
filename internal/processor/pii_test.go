package processor

import (
	"encoding/json"
	"testing"
)

// FuzzEncodeObject: encodeObject gives what json.Marshal gives for an
// object decoded one level deep, but for the spacing inside values.
func FuzzEncodeObject(f *testing.F) {
	for _, s := range []string{
		`{"order_id":"o1","buyer":{"token":"byr_1"},"items":[{"quantity":2}]}`,
		`{"z":1,"a":"<&>","\u00e9t\u00e9":null,"b\"q":[]}`,
		`{}`,
		`{"a" : { "b" : 1 } }`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m == nil {
			return
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got := encodeObject(m)
		compact, err := json.Marshal(json.RawMessage(got)) // compacts and escapes as json.Marshal does
		if err != nil {
			t.Fatalf("encodeObject(%s) = %s: not JSON: %v", raw, got, err)
		}
		if string(compact) != string(want) {
			t.Errorf("encodeObject(%s) = %s, want %s", raw, compact, want)
		}
	})
}
