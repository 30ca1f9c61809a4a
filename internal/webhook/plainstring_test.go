package webhook

import (
	"encoding/json"
	"testing"
)

// FuzzPlainString checks the decoder-free path of checkID: whenever it
// takes a JSON string, json.Unmarshal takes it too and gives the same.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"ord_1"`, `""`, `"a\"b"`, `"é"`, `"a b"`, `1`, `"`, `"\u0041"`, "\"\x7f\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil || got != want {
			t.Fatalf("plainString(%q) = %q, json.Unmarshal gives %q (%v)", raw, got, want, err)
		}
	})
}
