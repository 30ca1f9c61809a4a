package personal_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/personal"
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

// TestSealFieldsMatchesSeal: sealing with the data already decoded one
// level deep gives what Seal gives.
func TestSealFieldsMatchesSeal(t *testing.T) {
	t.Parallel()
	kr, err := secrets.NewKeyring(bytes.Repeat([]byte{3}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range []string{
		`{"order_id":"o1","buyer":{"email":"e@x.org","name":"A"},"holder":{"token":"byr_1"},"note":"x"}`,
		`{"order_id":"o2","items":[{"attendee":{"name":"N"}}]}`,
		`{"order_id":"o3"}`,
		`{"\u0065mail":"e@x.org"}`,
		`[{"email":"e@x.org"}]`,
	} {
		want := &usher.InboundEvent{Source: "s", ID: "e1", Data: json.RawMessage(data)}
		got := &usher.InboundEvent{Source: "s", ID: "e1", Data: json.RawMessage(data)}
		var fields map[string]json.RawMessage
		_ = json.Unmarshal(got.Data, &fields) // nil for the array
		if err := personal.Seal(kr, want); err != nil {
			t.Fatal(err)
		}
		if err := personal.SealFields(kr, got, fields); err != nil {
			t.Fatal(err)
		}
		wb, werr := personal.Open(kr, want)
		gb, gerr := personal.Open(kr, got)
		if !bytes.Equal(got.Data, want.Data) || (len(got.Sealed) == 0) != (len(want.Sealed) == 0) ||
			werr != nil || gerr != nil || !bytes.Equal(gb.Data, wb.Data) {
			t.Errorf("%s: SealFields gave data %s sealed %s (%v), Seal gave %s sealed %s (%v)", data, got.Data, gb.Data, gerr, want.Data, wb.Data, werr)
		}
	}
}
