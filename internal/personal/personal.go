// Package personal keeps the personal data of inbound events (a buyer's
// email, name and phone, a new holder, everything personal in a provider's
// own payload) out of everything usher writes in clear. The receiver seals
// it into the event with the master key before the event reaches the queue,
// so the stream, dedupe records, dead letters, the outbox and the logs
// carry only the stripped event; the processor opens it to fill the vault.
package personal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/rawjson"
)

// Sealer seals and opens values with the master key (package secrets).
type Sealer interface {
	Seal(plaintext []byte, context string) ([]byte, error)
	Open(sealed []byte, context string) ([]byte, error)
}

// Blob is the sealed personal data of an event: its canonical data and the
// provider's payload as they were received, each only when it held
// personal data.
type Blob struct {
	Data     json.RawMessage `json:"data,omitempty"`
	Original json.RawMessage `json:"original,omitempty"`
}

// keys are the JSON keys, at any depth, whose values are personal data: the
// canonical fields and those of Stripe's objects (customer_details,
// billing_details, shipping, receipt_email, …). A key matches in any case
// and with or without separators: "Buyer", "buyerEmail" and "Buyer-Email"
// are personal too (see isKey).
var keys = keySet(
	"buyer", "to", "holder", "attendee", "attendees",
	"email", "phone", "name", "first_name", "last_name", "full_name",
	"address", "buyer_email", "buyer_name", "buyer_phone",
	"holder_email", "holder_name", "holder_phone",
	"customer_details", "billing_details", "shipping", "shipping_details",
	"receipt_email", "customer_email", "customer_name", "customer_phone",
	"ip_address",
)

// maxKeyLen bounds the keys isKey compares; every personal key is shorter.
const maxKeyLen = 64

func keySet(names ...string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		var buf [maxKeyLen]byte
		set[string(folded(&buf, n))] = true
	}
	return set
}

// folded writes k into buf lower-cased and without the separators _, - and
// space, and returns the part written; nil when k is longer than buf.
func folded[T ~string | ~[]byte](buf *[maxKeyLen]byte, k T) []byte {
	if len(k) > maxKeyLen {
		return nil
	}
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '-' || c == ' ':
			continue
		}
		buf[n] = c
		n++
	}
	return buf[:n]
}

// isKey reports whether values under the JSON key k are personal data.
func isKey[T ~string | ~[]byte](k T) bool {
	var buf [maxKeyLen]byte
	f := folded(&buf, k)
	return f != nil && keys[string(f)]
}

// IsKey reports whether values under the JSON key k are personal data.
func IsKey(k string) bool { return isKey(k) }

// Context binds an event's sealed data to the event, so that it does not
// open when copied onto another.
func Context(source, id string) string { return "event/" + source + "/" + id }

// Seal moves the personal data of ev into ev.Sealed and strips it from
// ev.Data and ev.Original. An event already sealed, or one without
// personal data, is left as it is.
func Seal(s Sealer, ev *usher.InboundEvent) error {
	return seal(s, ev, nil, nil)
}

// SealObject is Seal of an event whose Data the caller already decoded
// (data, whose Fields it may change): the receiver decodes it once for the
// schema check, the order id and this.
func SealObject(s Sealer, ev *usher.InboundEvent, data rawjson.Object) error {
	return seal(s, ev, data.Fields, data.Values)
}

// seal is Seal of an event whose Data is decoded one level deep as fields
// and whole as values, either nil when the caller has not decoded it.
func seal(s Sealer, ev *usher.InboundEvent, fields map[string]json.RawMessage, values map[string]any) error {
	if len(ev.Sealed) > 0 {
		return nil
	}
	data, inData, err := stripObject(ev.Data, fields, values)
	if err != nil {
		return err
	}
	original, inOriginal, err := Strip(ev.Original)
	if err != nil {
		return err
	}
	if !inData && !inOriginal {
		return nil
	}
	var b Blob
	if inData {
		b.Data = ev.Data
	}
	if inOriginal {
		b.Original = ev.Original
	}
	raw, err := b.encode()
	if err != nil {
		return fmt.Errorf("seal personal data: %w", err)
	}
	sealed, err := s.Seal(raw, Context(ev.Source, ev.ID))
	if err != nil {
		return fmt.Errorf("seal personal data: %w", err)
	}
	ev.Data, ev.Original, ev.Sealed = data, original, sealed
	return nil
}

// encode encodes b as json.Marshal does, byte for byte, without compacting
// again the data, which came out of a decoder.
func (b Blob) encode() ([]byte, error) {
	out := append(make([]byte, 0, len(b.Data)+len(b.Original)+24), '{')
	var err error
	if len(b.Data) > 0 {
		if out, err = rawjson.Append(append(out, `"data":`...), b.Data); err != nil {
			return nil, err
		}
	}
	if len(b.Original) > 0 {
		if len(b.Data) > 0 {
			out = append(out, ',')
		}
		if out, err = rawjson.Append(append(out, `"original":`...), b.Original); err != nil {
			return nil, err
		}
	}
	return append(out, '}'), nil
}

// Open returns the sealed personal data of ev; an event without any
// returns an empty Blob. The error wraps secrets.ErrOpen when the master
// keys do not open it.
func Open(s Sealer, ev *usher.InboundEvent) (Blob, error) {
	var b Blob
	if len(ev.Sealed) == 0 {
		return b, nil
	}
	raw, err := s.Open(ev.Sealed, Context(ev.Source, ev.ID))
	if err != nil {
		return b, fmt.Errorf("open personal data of %s/%s: %w", ev.Source, ev.ID, err)
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, fmt.Errorf("decode personal data of %s/%s: %w", ev.Source, ev.ID, err)
	}
	return b, nil
}

// Strip returns raw without the values of personal keys, at any depth, and
// whether it removed any. A vault token ({"token": "byr_…"}) is kept: it is
// the pseudonym that stands for the data. raw without personal keys comes
// back as it is.
func Strip(raw json.RawMessage) (json.RawMessage, bool, error) {
	return stripObject(raw, nil, nil)
}

// stripObject is Strip of raw with its object m, and the object decoded
// whole as values, when the caller decoded it (nil: it decodes raw if need
// be).
func stripObject(raw json.RawMessage, m map[string]json.RawMessage, values map[string]any) (json.RawMessage, bool, error) {
	if !mentionsKey(raw) {
		return raw, false, nil
	}
	if m == nil {
		m, _ = object(raw)
	}
	if m != nil {
		// An object is stripped one level deep: only the values that
		// mention a personal key are decoded further.
		removed, err := stripFields(m, values)
		if err != nil || !removed {
			return raw, false, err
		}
		return EncodeFields(m), true, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false, fmt.Errorf("strip personal data: %w", err)
	}
	removed := strip(v)
	if !removed {
		return raw, false, nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, false, fmt.Errorf("strip personal data: %w", err)
	}
	return out, true, nil
}

// object decodes raw one level deep when it is a JSON object.
func object(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// EncodeFields encodes an object decoded one level deep with its keys
// sorted, as json.Marshal does, without checking and compacting again each
// value, which came out of a decoder.
func EncodeFields(m map[string]json.RawMessage) json.RawMessage {
	n := 2
	for k, v := range m {
		n += len(k) + len(v) + 4
	}
	out := make([]byte, 0, n)
	out = append(out, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			out = append(out, ',')
		}
		out = rawjson.AppendString(out, k)
		out = append(out, ':')
		out = append(out, m[k]...)
	}
	return append(out, '}')
}

// mentionsKey is a quick test that raw may hold a personal key: one pass
// over its JSON strings, true when one of them is a personal key or holds
// an escape (a key spelled with escapes, "\u0065mail", is only recognized
// once decoded, so such data always takes the full decode).
func mentionsKey(raw json.RawMessage) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '"' {
			continue
		}
		start := i + 1
		for i = start; i < len(raw) && raw[i] != '"'; i++ {
			if raw[i] == '\\' {
				return true
			}
		}
		if i < len(raw) && isKey(raw[start:i]) {
			return true
		}
	}
	return false
}

// StripFields removes the personal data of an object decoded one level
// deep, in place, as Strip does for its encoding: the value of a personal
// key goes unless it is a vault token or null, and the values of the other
// keys are stripped at any depth. It reports whether it removed any. A
// caller that already holds the object (the processor, after vaulting the
// buyer) so avoids decoding the whole event again.
func StripFields(m map[string]json.RawMessage) (bool, error) {
	return stripFields(m, nil)
}

// stripFields is StripFields with the object also decoded whole as values
// when the caller has it (nil: a personal value is decoded to tell a vault
// token).
func stripFields(m map[string]json.RawMessage, values map[string]any) (bool, error) {
	removed := false
	for k, v := range m {
		if isKey(k) {
			token := false
			if values != nil {
				token = isToken(values[k])
			} else {
				token = rawIsToken(v)
			}
			if !token && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				delete(m, k)
				removed = true
			}
			continue
		}
		out, r, err := Strip(v)
		if err != nil {
			return false, err
		}
		if r {
			m[k], removed = out, true
		}
	}
	return removed, nil
}

// rawIsToken is isToken of an encoded value.
func rawIsToken(raw json.RawMessage) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	return isToken(v)
}

func strip(v any) bool {
	removed := false
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if isKey(k) && !isToken(child) && child != nil {
				delete(t, k)
				removed = true
				continue
			}
			removed = strip(child) || removed
		}
	case []any:
		for _, child := range t {
			removed = strip(child) || removed
		}
	}
	return removed
}

// isToken reports whether v is a vault reference {"token": "…"}.
func isToken(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	_, ok = m["token"].(string)
	return ok
}
