package personal

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestBlobEncodesAsJSONMarshal(t *testing.T) {
	t.Parallel()
	for _, b := range []Blob{
		{},
		{Data: json.RawMessage(`{"buyer":{"email":"e@x.org"}}`)},
		{Original: json.RawMessage(`{"data": {"object": {"email": "<e@x.org>"}}}`)},
		{Data: json.RawMessage("{ \"a\" : \"x\u2028\" }"), Original: json.RawMessage(`[1,2]`)},
	} {
		want, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.encode()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("got %s (%v), want %s", got, err, want)
		}
	}
	if got, err := (Blob{Data: json.RawMessage(`{"a":`)}).encode(); err == nil {
		t.Errorf("invalid data: got %s, want an error", got)
	}
}

// BenchmarkBlobEncode compares the sealed blob's encoding with json.Marshal
// on an order.paid's data of about 1 KiB (a buyer and a 700-byte note).
func BenchmarkBlobEncode(b *testing.B) {
	blob := Blob{Data: json.RawMessage(`{"order_id":"ord_1","buyer":{"email":"ada@example.com","name":"Ada Lovelace"},"note":"` + string(bytes.Repeat([]byte("x"), 700)) + `"}`)}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(blob); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := blob.encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
