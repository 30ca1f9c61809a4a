package queue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
)

// checkDecodesAsUnmarshal fails when decodeEvents reads raw otherwise than
// json.Unmarshal into a []usher.InboundEvent: another result, an error
// where it has none or none where it has one.
func checkDecodesAsUnmarshal(t *testing.T, raw []byte) {
	t.Helper()
	var want []usher.InboundEvent
	werr := json.Unmarshal(raw, &want)
	got, gerr := decodeEvents(raw)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("decodeEvents(%q) error %v; json.Unmarshal gives %v", raw, gerr, werr)
	}
	if werr != nil {
		return
	}
	if diff := eventsDiffer(got, want); diff != "" {
		t.Fatalf("decodeEvents(%q): %s", raw, diff)
	}
}

// eventsDiffer describes the first difference between got and want; times
// are equal when they are the same instant in the same offset and zone
// name, whatever *time.Location holds them.
func eventsDiffer(got, want []usher.InboundEvent) string {
	if (got == nil) != (want == nil) || len(got) != len(want) {
		return fmt.Sprintf("got %d events (nil %v), want %d (nil %v)", len(got), got == nil, len(want), want == nil)
	}
	sameTime := func(a, b time.Time) bool {
		an, ao := a.Zone()
		bn, bo := b.Zone()
		return a.Equal(b) && an == bn && ao == bo && a.Location() == time.UTC == (b.Location() == time.UTC)
	}
	for i := range got {
		g, w := got[i], want[i]
		if !sameTime(g.Timestamp, w.Timestamp) || !sameTime(g.ReceivedAt, w.ReceivedAt) {
			return fmt.Sprintf("event %d: times %v %v, want %v %v", i, g.Timestamp, g.ReceivedAt, w.Timestamp, w.ReceivedAt)
		}
		g.Timestamp, g.ReceivedAt, w.Timestamp, w.ReceivedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			return fmt.Sprintf("event %d: got %#v, want %#v", i, g, w)
		}
	}
	return ""
}

// decodeSamples are messages in the encoding's own shape and around it:
// what appendEvent writes, and each way a message can leave the shape.
func decodeSamples(t testing.TB) []string {
	at := time.Date(2026, 12, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	full := usher.InboundEvent{
		Source: "shop", ID: "msg_1", Type: usher.TypeOrderPaid, OrderID: "ord_1", Timestamp: at, ReceivedAt: at.UTC(),
		PayloadHash: strings.Repeat("ab", 32), KeyID: "k1", Data: json.RawMessage(`{"order_id":"ord_1","note":"a b"}`),
		Original: json.RawMessage(`{"id":"evt_1", "x": null}`), Sealed: []byte{0, 1, 2, 250, 251}, Replay: true,
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	escaped := full
	escaped.Source, escaped.ID, escaped.KeyID = "a\"b\\c", "tab\there\x01", "<k>&\u2028é\xff"
	bare := usher.InboundEvent{Data: json.RawMessage(`"text"`)}
	var encoded []byte
	for _, ev := range []*usher.InboundEvent{&full, &escaped, &bare} {
		one, err := appendEvent(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		encoded = append(append(encoded, ','), one...)
	}
	own := "[" + string(encoded[1:]) + "]"
	return []string{
		own, `[]`, ` [ ] `, `null`, `[null]`, `{}`, `[{}]`, `[{},{}]`, `[1]`, `["x"]`, `[{"source":1}]`, `[{"source":null}]`,
		`[{"Source":"s"}]`, `[{"sourcE":"s","ID":"i"}]`, `[{"unknown":1,"id":"i"}]`, `[{"id":"a","id":"b"}]`,
		`[{"data":null}]`, `[{"data":{"a":1},"data":[2]}]`, `[{"original":null}]`, `[{"data": { "a" : 1 } }]`,
		`[{"timestamp":"2026-12-01T12:00:00Z"}]`, `[{"timestamp":"2026-12-01T12:00:00.5+01:00"}]`, `[{"timestamp":"yesterday"}]`,
		`[{"timestamp":null}]`, `[{"timestamp":0}]`, `[{"received_at":"2026-12-01T12:00:00\u005a"}]`, `[{"received_at":"0000-01-01T00:00:00Z"}]`,
		`[{"sealed":"AAEC+vs="}]`, `[{"sealed":""}]`, `[{"sealed":"AAEC"},{"sealed":null}]`, `[{"sealed":"!!"}]`, `[{"sealed":"AAE"}]`,
		"[{\"sealed\":\"AA\\r\\nEC\"}]", `[{"sealed":"AAEC","sealed":"+vs="}]`,
		`[{"replay":true}]`, `[{"replay":false}]`, `[{"replay":true,"replay":false}]`, `[{"replay":"true"}]`, `[{"replay":null}]`,
		`[{"id":"\u00e9\ud83d"}]`, "[{\"id\":\"\xff\"}]", `[{"id":"a"}`, `[{"id":"a"}]x`, `[{"id":"a"},]`, own[:len(own)/2],
	}
}

func TestDecodeEventsDecodesAsUnmarshal(t *testing.T) {
	t.Parallel()
	for _, s := range decodeSamples(t) {
		checkDecodesAsUnmarshal(t, []byte(s))
	}
}

// TestDecodeEventsTakesItsOwnShapeInOnePass holds the fast path to what it
// is for: a message as appendEvent writes it is decoded without
// encoding/json, and its data is not copied.
func TestDecodeEventsTakesItsOwnShapeInOnePass(t *testing.T) {
	t.Parallel()
	own := []byte(decodeSamples(t)[0])
	events, ok := decodeOwnShape(own)
	if !ok || len(events) != 3 {
		t.Fatalf("decodeOwnShape of appendEvent's encoding: %d events, %v", len(events), ok)
	}
	data := events[0].Data
	if i := bytes.Index(own, data); i < 0 || &own[i] != &data[0] || cap(data) != len(data) {
		t.Fatalf("data %q is a copy, or may grow into the next member (cap %d)", data, cap(data))
	}
}

func FuzzDecodeEvents(f *testing.F) {
	for _, s := range decodeSamples(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkDecodesAsUnmarshal(t, raw)
	})
}

// BenchmarkDecodeEvents compares decodeEvents with json.Unmarshal on a
// message of 16 order.paid events of about 1 KiB each, as the receiver's
// group commit writes it.
func BenchmarkDecodeEvents(b *testing.B) {
	at := time.Now()
	ev := &usher.InboundEvent{
		Source: "shop", ID: "msg_1", Type: usher.TypeOrderPaid, OrderID: "ord_1", Timestamp: at, ReceivedAt: at,
		PayloadHash: strings.Repeat("ab", 32), KeyID: "k1", Sealed: bytes.Repeat([]byte{7}, 120),
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		Data:        json.RawMessage(`{"order_id":"ord_1","show_id":"show_42","items":[{"ticket_type":"GA","quantity":2}],"buyer":{"token":"byr_1"},"note":"` + strings.Repeat("x", 760) + `"}`),
	}
	msg := []byte{'['}
	for i := range 16 {
		if i > 0 {
			msg = append(msg, ',')
		}
		var err error
		if msg, err = appendEvent(msg, ev); err != nil {
			b.Fatal(err)
		}
	}
	msg = append(msg, ']')
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var events []usher.InboundEvent
			if err := json.Unmarshal(msg, &events); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeEvents", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeEvents(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
