package rawjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/rawjson"
)

// samples are documents on both sides of every rule the scanner checks.
var samples = []string{
	``, ` `, `{}`, ` {} `, `[]`, `[ ]`, `{ }`, `null`, `true`, `false`, `nul`, `tru`, `falsey`, `0`, `-0`, `-`, `01`, `1.`, `1.5`,
	`1e5`, `1E+5`, `1e-05`, `1e`, `1e+`, `.5`, `-.5`, `+1`, `123456789012345678901234567890`, `"a"`, `"a`, `"\"`, `"\u00e9"`,
	`"\u00G9"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\x"`, `"\/"`, "\"\x01\"", "\"\x7f\"", "\"\xff\"", "\"é\"", "\"\xed\xa0\x80\"",
	`{"a":1,}`, `{"a":1,"a":2}`, `{"a" 1}`, `{a:1}`, `{"a":}`, `[1,]`, `[,1]`, `[1 2]`, `{"a":[1,{"b":null}]}`, `{"a":1}x`,
	`{"a":1} {}`, "\t{\n\"a\" :\r1 }\n", `{"\u0061":1,"a":2}`, `{"t\u0079pe":"x"}`, `[[[[]]]]`, `{"a":{"b":{"c":[true,false]}}}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	`{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`, `{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
}

// decodeAsJSONSchema decodes as jsonschema.UnmarshalJSON does.
func decodeAsJSONSchema(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid character after top-level value")
	}
	return v, nil
}

// checkAgainstEncodingJSON fails when any of the scanner's readings of raw
// differs from encoding/json's.
func checkAgainstEncodingJSON(t *testing.T, raw []byte) {
	t.Helper()
	valid := json.Valid(raw)
	if got := rawjson.Valid(raw); got != valid {
		t.Fatalf("Valid(%q) = %v, json.Valid says %v", raw, got, valid)
	}

	want, werr := decodeAsJSONSchema(raw)
	got, ok := rawjson.Decode(raw)
	if ok != (werr == nil) || ok != valid || !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%q) = %#v, %v; encoding/json gives %#v, %v", raw, got, ok, want, werr)
	}

	var wantFields map[string]json.RawMessage
	ferr := json.Unmarshal(raw, &wantFields)
	isObject := valid && bytes.TrimSpace(raw)[0] == '{'
	obj, ok := rawjson.DecodeObject(raw)
	if ok != isObject || ok && (ferr != nil || !reflect.DeepEqual(obj.Fields, wantFields) || !reflect.DeepEqual(any(obj.Values), want)) {
		t.Fatalf("DecodeObject(%q) = %q, %#v, %v; encoding/json gives %q (%v), %#v", raw, obj.Fields, obj.Values, ok, wantFields, ferr, want)
	}

	members, ok := rawjson.Members(raw)
	if ok != isObject {
		t.Fatalf("Members(%q) ok = %v, want %v", raw, ok, isObject)
	}
	if ok {
		fromMembers := make(map[string]json.RawMessage, len(members))
		for _, m := range members {
			fromMembers[m.Key] = m.Value
		}
		if !reflect.DeepEqual(fromMembers, wantFields) {
			t.Fatalf("Members(%q) = %q; json.Unmarshal gives %q", raw, members, wantFields)
		}
	}

	var wantObjects []map[string]json.RawMessage
	oerr := json.Unmarshal(raw, &wantObjects)
	allObjects := oerr == nil && bytes.TrimSpace(raw)[0] == '[' && !slices.ContainsFunc(wantObjects, func(o map[string]json.RawMessage) bool { return o == nil })
	objects := []map[string]json.RawMessage{}
	count, ok := rawjson.EachObjectMember(raw, func(object int, key []byte, value json.RawMessage) bool {
		for len(objects) <= object {
			objects = append(objects, map[string]json.RawMessage{})
		}
		k, ok := rawjson.Unquote(key)
		if !ok || cap(value) != len(value) || cap(key) != len(key) {
			t.Fatalf("EachObjectMember(%q): key %q (cap %d), value %q (cap %d)", raw, key, cap(key), value, cap(value))
		}
		objects[object][k] = value
		return true
	})
	for len(objects) < count { // empty objects call fn with nothing
		objects = append(objects, map[string]json.RawMessage{})
	}
	if ok != allObjects || ok && (count != len(wantObjects) || !reflect.DeepEqual(objects, wantObjects)) {
		t.Fatalf("EachObjectMember(%q) = %q, %v; json.Unmarshal gives %q (%v)", raw, objects, ok, wantObjects, oerr)
	}
}

func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range samples {
		checkAgainstEncodingJSON(t, []byte(s))
	}
}

func TestMembersKeepsOrderAndDuplicates(t *testing.T) {
	t.Parallel()
	members, ok := rawjson.Members([]byte(` {"b" : [1, 2] ,"a":"x","b":null} `))
	want := []rawjson.Member{{"b", json.RawMessage(`[1, 2]`)}, {"a", json.RawMessage(`"x"`)}, {"b", json.RawMessage(`null`)}}
	if !ok || !reflect.DeepEqual(members, want) {
		t.Fatalf("got %q %v, want %q", members, ok, want)
	}
}

func TestEachObjectMemberWalksInOrderAndStops(t *testing.T) {
	t.Parallel()
	type member struct {
		object     int
		key, value string
	}
	var got []member
	n, ok := rawjson.EachObjectMember([]byte(` [ {"a" : 1,"\u0062":[2]} , {},{"a":null} ] `), func(object int, key []byte, value json.RawMessage) bool {
		got = append(got, member{object, string(key), string(value)})
		return true
	})
	want := []member{{0, `"a"`, `1`}, {0, `"\u0062"`, `[2]`}, {2, `"a"`, `null`}}
	if !ok || n != 3 || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v (%d objects) %v, want %v", got, n, ok, want)
	}
	calls := 0
	if _, ok := rawjson.EachObjectMember([]byte(`[{"a":1,"b":2},{"c":3}]`), func(int, []byte, json.RawMessage) bool { calls++; return false }); ok || calls != 1 {
		t.Fatalf("fn returning false: walk went on (%d calls) or reported true", calls)
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range samples {
		if len(s) < 1000 {
			f.Add([]byte(s))
		}
	}
	f.Add([]byte(`{"type":"order.paid","timestamp":"2026-12-01T12:00:00Z","data":{"order_id":"o1","buyer":{"email":"a@b.c"},"n":[1.5e3,-0,true]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkAgainstEncodingJSON(t, raw)
	})
}

func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u00e9\n"`, `"\ud83d"`, "\"\xff\"", `"a" `, `"a`, `1`, `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want string
		werr := json.Unmarshal(raw, &want)
		isString := werr == nil && len(raw) > 0 && raw[0] == '"' && raw[len(raw)-1] == '"' && json.Valid(raw)
		got, ok := rawjson.Unquote(raw)
		if ok != isString || ok && got != want {
			t.Fatalf("Unquote(%q) = %q, %v; json.Unmarshal gives %q (%v)", raw, got, ok, want, werr)
		}
	})
}
