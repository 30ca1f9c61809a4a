package personal_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/usherhq/usher/internal/personal"
)

// stripSeeds are objects with personal data at the top, deeper, as vault
// tokens, as null, and spelled with escapes.
var stripSeeds = []string{
	`{"order_id":"o1","buyer":{"email":"e@x.org"},"items":[{"attendee":{"name":"N"}}]}`,
	`{"order_id":"o1","buyer":{"token":"byr_1"},"note":"x"}`,
	`{"to":null,"holder":{"token":"byr_2","extra":1},"n":5}`,
	`{"\u0065mail":"e@x.org","a":{"b":{"phone":"+1"}}}`,
	`{"a":"he said \"email\"","b":[1,2,{"name":"n"}]}`,
	`{"plain":true}`,
	`{"Buyer":{"Email":"e@x.org"},"items":[{"buyerEmail":"e@x.org","Customer-Name":"N"}],"named":1}`,
}

// TestStripFieldsMatchesStrip: stripping an object decoded one level deep
// gives the same data as stripping its encoding.
func TestStripFieldsMatchesStrip(t *testing.T) {
	t.Parallel()
	for _, raw := range stripSeeds {
		checkStripFields(t, []byte(raw))
	}
}

// TestStripKnowsEscapedKeys: a personal key spelled with escapes is
// stripped like the plain one.
func TestStripKnowsEscapedKeys(t *testing.T) {
	t.Parallel()
	out, removed, err := personal.Strip(json.RawMessage(`{"\u0065mail":"e@x.org","n":1}`))
	if err != nil || !removed || string(out) != `{"n":1}` {
		t.Errorf("Strip = %s, %v, %v; want {\"n\":1}, true, nil", out, removed, err)
	}
}

// TestStripKnowsKeysInAnyCase: a personal key in another case, camelCase
// or with other separators is stripped like the canonical one; a key that
// only contains one is not.
func TestStripKnowsKeysInAnyCase(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"Buyer", "BUYER", "buyerEmail", "Buyer-Email", "customerDetails", "IP Address", "TO"} {
		if !personal.IsKey(k) {
			t.Errorf("IsKey(%q) = false", k)
		}
	}
	for _, k := range []string{"order_id", "ticket_type", "named", "toe", "emails", ""} {
		if personal.IsKey(k) {
			t.Errorf("IsKey(%q) = true", k)
		}
	}
	out, removed, err := personal.Strip(json.RawMessage(`{"Buyer":{"Email":"e@x.org"},"n":[{"fullName":"N","k":1}]}`))
	if err != nil || !removed || string(out) != `{"n":[{"k":1}]}` {
		t.Errorf("Strip = %s, %v, %v; want {\"n\":[{\"k\":1}]}, true, nil", out, removed, err)
	}
}

func FuzzStripFields(f *testing.F) {
	for _, s := range stripSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkStripFields(t, raw)
	})
}

func checkStripFields(t *testing.T, raw []byte) {
	t.Helper()
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return
	}
	want, wantRemoved, err := personal.Strip(raw)
	if err != nil {
		t.Fatalf("Strip(%s): %v", raw, err)
	}
	removed, err := personal.StripFields(m)
	if err != nil {
		t.Fatalf("StripFields(%s): %v", raw, err)
	}
	got, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil {
		t.Fatalf("stripped %s: got %s, want %s: not JSON", raw, got, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("stripped %s: got %s, want %s", raw, got, want)
	}
	if removed && !wantRemoved {
		t.Errorf("stripped %s: StripFields removed something, Strip did not", raw)
	}
}

// FuzzEncodeFields: EncodeFields gives what json.Marshal gives for an
// object decoded one level deep, but for the spacing inside values.
func FuzzEncodeFields(f *testing.F) {
	for _, s := range append(stripSeeds, `{"z":1,"a":"<&>","\u00e9t\u00e9":null,"b\"q":[]}`, `{}`, `{"a" : { "b" : 1 } }`) {
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
		got := personal.EncodeFields(m)
		compact, err := json.Marshal(json.RawMessage(got)) // compacts and escapes as json.Marshal does
		if err != nil {
			t.Fatalf("EncodeFields(%s) = %s: not JSON: %v", raw, got, err)
		}
		if string(compact) != string(want) {
			t.Errorf("EncodeFields(%s) = %s, want %s", raw, compact, want)
		}
	})
}
