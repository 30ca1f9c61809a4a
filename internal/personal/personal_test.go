package personal_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/personal"
	"github.com/usherhq/usher/internal/rawjson"
	"github.com/usherhq/usher/internal/secrets"
)

// TestSealStripsAndOpensBack: personal fields at any depth leave data and
// original, vault tokens stay, and the sealed blob gives both back as
// received, only under the event's own context.
func TestSealStripsAndOpensBack(t *testing.T) {
	t.Parallel()
	kr, err := secrets.NewKeyring(bytes.Repeat([]byte{3}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	data := json.RawMessage(`{"order_id":"o1","buyer":{"email":"e@x.org","phone":"+1 555"},"holder":{"token":"byr_1"},"items":[{"attendee":{"name":"N"}}]}`)
	original := json.RawMessage(`{"data":{"object":{"customer_details":{"email":"e@x.org"},"shipping":{"address":{"line1":"L1"}},"amount_total":5}}}`)
	ev := &usher.InboundEvent{Source: "s", ID: "e1", Data: data, Original: original}
	if err := personal.Seal(kr, ev); err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"e@x.org", "+1 555", `"N"`, "L1"} {
		if bytes.Contains(ev.Data, []byte(leak)) || bytes.Contains(ev.Original, []byte(leak)) || bytes.Contains(ev.Sealed, []byte(leak)) {
			t.Errorf("%q left in clear: data %s original %s", leak, ev.Data, ev.Original)
		}
	}
	if !bytes.Contains(ev.Data, []byte(`"holder":{"token":"byr_1"}`)) || !bytes.Contains(ev.Original, []byte(`"amount_total":5`)) {
		t.Errorf("stripped too much: data %s original %s", ev.Data, ev.Original)
	}
	b, err := personal.Open(kr, ev)
	if err != nil || !bytes.Equal(b.Data, data) || !bytes.Equal(b.Original, original) {
		t.Fatalf("Open = %s %s, %v; want the data as received", b.Data, b.Original, err)
	}
	moved := *ev
	moved.ID = "e2"
	if _, err := personal.Open(kr, &moved); err == nil {
		t.Error("sealed data opens on another event")
	}
	plain := &usher.InboundEvent{Source: "s", ID: "e3", Data: json.RawMessage(`{"order_id":"o2"}`)}
	if err := personal.Seal(kr, plain); err != nil || plain.Sealed != nil || string(plain.Data) != `{"order_id":"o2"}` {
		t.Errorf("an event without personal data changed: %s %x %v", plain.Data, plain.Sealed, err)
	}
}

// sealObjectSamples are data on both sides of every rule of stripping.
var sealObjectSamples = []string{
	`{"order_id":"o1","buyer":{"email":"e@x.org","name":"A"},"holder":{"token":"byr_1"},"note":"x"}`,
	`{"order_id":"o2","items":[{"attendee":{"name":"N"}}]}`,
	`{"order_id":"o3"}`,
	`{"\u0065mail":"e@x.org"}`,
	`[{"email":"e@x.org"}]`,
	`{"buyer":null,"holder":{"token":5},"to":{"token":"t","x":1},"email":"e","email":{"token":"t"}}`,
	`{ "shipping" : { "address" : "a" } , "n" : 1.50 }`,
}

// TestSealObjectMatchesSeal: sealing with the data already decoded gives
// what Seal gives.
func TestSealObjectMatchesSeal(t *testing.T) {
	t.Parallel()
	kr, err := secrets.NewKeyring(bytes.Repeat([]byte{3}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range sealObjectSamples {
		want := &usher.InboundEvent{Source: "s", ID: "e1", Data: json.RawMessage(data)}
		got := &usher.InboundEvent{Source: "s", ID: "e1", Data: json.RawMessage(data)}
		obj, _ := rawjson.DecodeObject(got.Data) // zero for the array
		if err := personal.Seal(kr, want); err != nil {
			t.Fatal(err)
		}
		if err := personal.SealObject(kr, got, obj); err != nil {
			t.Fatal(err)
		}
		wb, werr := personal.Open(kr, want)
		gb, gerr := personal.Open(kr, got)
		if !bytes.Equal(got.Data, want.Data) || (len(got.Sealed) == 0) != (len(want.Sealed) == 0) ||
			werr != nil || gerr != nil || !bytes.Equal(gb.Data, wb.Data) {
			t.Errorf("%s: SealObject gave data %s sealed %s (%v), Seal gave %s sealed %s (%v)", data, got.Data, gb.Data, gerr, want.Data, wb.Data, werr)
		}
	}
}

// clearSealer "seals" by copying, so that sealed blobs compare byte for
// byte.
type clearSealer struct{}

func (clearSealer) Seal(p []byte, _ string) ([]byte, error) { return bytes.Clone(p), nil }
func (clearSealer) Open(p []byte, _ string) ([]byte, error) { return bytes.Clone(p), nil }

// FuzzSealObject: for any data a receiver decodes, SealObject leaves the
// same event as Seal, byte for byte.
func FuzzSealObject(f *testing.F) {
	for _, data := range sealObjectSamples {
		f.Add([]byte(data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, ok := rawjson.DecodeObject(data)
		if !ok {
			return // the receiver seals only data that decodes
		}
		want := &usher.InboundEvent{Source: "s", ID: "e1", Data: bytes.Clone(data)}
		got := &usher.InboundEvent{Source: "s", ID: "e1", Data: data}
		werr := personal.Seal(clearSealer{}, want)
		gerr := personal.SealObject(clearSealer{}, got, obj)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got.Data, want.Data) || !bytes.Equal(got.Sealed, want.Sealed) {
			t.Fatalf("%q: SealObject gave %q %q (%v), Seal gave %q %q (%v)", data, got.Data, got.Sealed, gerr, want.Data, want.Sealed, werr)
		}
	})
}
