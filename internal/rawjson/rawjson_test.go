package rawjson_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/usherhq/usher/internal/rawjson"
)

func TestAppendEncodesAsJSONMarshal(t *testing.T) {
	t.Parallel()
	for _, raw := range []json.RawMessage{
		nil, json.RawMessage(`{"a":1}`), json.RawMessage("{ \"a\" : [1, 2],\n\t\"b\": \"x y\" }"),
		json.RawMessage(`{"a":"<b>&</b>"}`), json.RawMessage("{\"a\":\"x\u2028y\u2029z é\"}"),
		json.RawMessage(`{"a":"q\"uote \\ \u00e9 \n"}`), json.RawMessage(` "text" `), json.RawMessage(`[true,null,-1.5e3]`),
	} {
		want, err := json.Marshal(raw)
		if err != nil {
			t.Fatalf("%s: json.Marshal: %v", raw, err)
		}
		got, err := rawjson.Append([]byte("x"), raw)
		if err != nil || !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Errorf("%s: got %s (%v), want x%s", raw, got, err, want)
		}
	}
	for _, bad := range []json.RawMessage{{}, json.RawMessage(`{"a":`), json.RawMessage(`nope`)} {
		if got, err := rawjson.Append(nil, bad); err == nil {
			t.Errorf("%q: got %s, want an error", bad, got)
		}
	}
}

func FuzzAppend(f *testing.F) {
	f.Add([]byte(`{"b": "<x>"}`))
	f.Add([]byte("{ \"a\" : \"\\u2028\" }"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, werr := json.Marshal(json.RawMessage(raw))
		got, gerr := rawjson.Append(nil, raw)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("got %q (%v), want %q (%v)", got, gerr, want, werr)
		}
	})
}

// FuzzAppendString: AppendString writes what json.Marshal writes for a
// string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `quo"te`, "back\\slash", "<&>", "\x00\x1f", "é", "\u2028", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := rawjson.AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	})
}
