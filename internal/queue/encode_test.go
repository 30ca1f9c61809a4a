package queue

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
)

func TestAppendEventEncodesAsJSONMarshal(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	base := usher.InboundEvent{
		Source: "shop", ID: "msg_1", Type: usher.TypeOrderPaid, OrderID: "ord_1", Timestamp: at, ReceivedAt: at.UTC(),
		PayloadHash: strings.Repeat("ab", 32), KeyID: "k1", Data: json.RawMessage(`{"order_id":"ord_1","note":"a b"}`),
	}
	for name, change := range map[string]func(*usher.InboundEvent){
		"plain":                    func(*usher.InboundEvent) {},
		"nil data":                 func(ev *usher.InboundEvent) { ev.Data = nil },
		"data with spaces":         func(ev *usher.InboundEvent) { ev.Data = json.RawMessage("{ \"a\" : [1, 2],\n\t\"b\": \"x y\" }") },
		"data with html":           func(ev *usher.InboundEvent) { ev.Data = json.RawMessage(`{"a":"<b>&</b>"}`) },
		"data with line separator": func(ev *usher.InboundEvent) { ev.Data = json.RawMessage("{\"a\":\"x\u2028y\u2029z\"}") },
		"data with escapes":        func(ev *usher.InboundEvent) { ev.Data = json.RawMessage(`{"a":"q\"uote \\ \u00e9 \n"}`) },
		"data not an object":       func(ev *usher.InboundEvent) { ev.Data = json.RawMessage(` "text" `) },
		"original, sealed, replay, trace": func(ev *usher.InboundEvent) {
			ev.Original, ev.Sealed, ev.Replay = json.RawMessage(`{"id":"evt_1", "x": null}`), []byte{0, 1, 2, 250, 251}, true
			ev.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		},
		"strings to escape": func(ev *usher.InboundEvent) {
			ev.Source, ev.ID, ev.KeyID = "a\"b\\c", "tab\there\x01", "<k>&\u2028é\xff"
		},
		"zero times": func(ev *usher.InboundEvent) { ev.Timestamp, ev.ReceivedAt = time.Time{}, time.Time{} },
	} {
		ev := base
		change(&ev)
		want, err := json.Marshal(&ev)
		if err != nil {
			t.Fatalf("%s: json.Marshal: %v", name, err)
		}
		got, err := appendEvent(nil, &ev)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %s (%v), want %s", name, got, err, want)
		}
	}
}

// TestAppendEventKnowsEveryField sets every field of usher.InboundEvent: a
// field added to the event but not to appendEvent fails here.
func TestAppendEventKnowsEveryField(t *testing.T) {
	t.Parallel()
	var ev usher.InboundEvent
	v := reflect.ValueOf(&ev).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)))
		case f.Type() == reflect.TypeFor[json.RawMessage]():
			f.SetBytes([]byte(`{"field":` + `"` + v.Type().Field(i).Name + `"}`))
		case f.Kind() == reflect.String:
			f.SetString("v-" + v.Type().Field(i).Name)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Uint8:
			f.SetBytes([]byte(v.Type().Field(i).Name))
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("field %s of kind %s: teach appendEvent and this test about it", v.Type().Field(i).Name, f.Kind())
		}
	}
	want, _ := json.Marshal(&ev)
	got, err := appendEvent(nil, &ev)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %s (%v), want %s", got, err, want)
	}
}

func TestAppendEventRefusesWhatJSONMarshalRefuses(t *testing.T) {
	t.Parallel()
	for name, ev := range map[string]usher.InboundEvent{
		"invalid data":     {Data: json.RawMessage(`{"a":`)},
		"empty data":       {Data: json.RawMessage{}},
		"invalid original": {Data: json.RawMessage(`{}`), Original: json.RawMessage(`nope`)},
		"year 10000":       {Data: json.RawMessage(`{}`), Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := json.Marshal(&ev); err == nil {
			t.Fatalf("%s: json.Marshal accepts it", name)
		}
		if got, err := appendEvent(nil, &ev); err == nil {
			t.Errorf("%s: got %s, want an error", name, got)
		}
	}
}

func FuzzAppendEvent(f *testing.F) {
	f.Add("shop", "msg_1", `{"a":1}`, `{"b": "<x>"}`, int64(0))
	f.Add("s\"<", "\xff\u2028", "{ \"a\" : \"\\u2028\" }", "", int64(-1))
	f.Fuzz(func(t *testing.T, source, id, data, original string, nanos int64) {
		ev := usher.InboundEvent{
			Source: source, ID: id, OrderID: id, Timestamp: time.Unix(0, nanos), ReceivedAt: time.Unix(0, nanos).UTC(),
			Data: json.RawMessage(data), Original: json.RawMessage(original), Sealed: []byte(source),
		}
		want, werr := json.Marshal(&ev)
		got, gerr := appendEvent(nil, &ev)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("got %q (%v), want %q (%v)", got, gerr, want, werr)
		}
	})
}

// BenchmarkEncodeEvent compares appendEvent with json.Marshal on an
// order.paid of about 1 KiB as the receiver hands it over (compact data, a
// sealed buyer).
func BenchmarkEncodeEvent(b *testing.B) {
	at := time.Now()
	ev := &usher.InboundEvent{
		Source: "shop", ID: "msg_1", Type: usher.TypeOrderPaid, OrderID: "ord_1", Timestamp: at, ReceivedAt: at,
		PayloadHash: strings.Repeat("ab", 32), KeyID: "k1", Sealed: bytes.Repeat([]byte{7}, 120),
		Data: json.RawMessage(`{"order_id":"ord_1","show_id":"show_42","items":[{"ticket_type":"GA","quantity":2}],"buyer":{"token":"byr_1"},"note":"` + strings.Repeat("x", 760) + `"}`),
	}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := appendEvent(make([]byte, 0, 320+len(ev.Data)+len(ev.Sealed)*4/3), ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
