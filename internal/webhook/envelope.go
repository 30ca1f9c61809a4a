package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/rawjson"
)

// maxTypeLen bounds an event type.
const maxTypeLen = 128

// parseCanonical parses a canonical envelope {"type","timestamp","data"}: a
// valid type, an RFC 3339 timestamp and data that is a JSON object, which it
// also returns decoded. A body the one-pass parse takes goes through it
// alone; any other (malformed, or a key that only encoding/json's
// case-insensitive matching reads as an envelope field) through
// encoding/json, which gives the error or the same envelope.
func parseCanonical(body []byte) (usher.Envelope, rawjson.Object, error) {
	if env, data, ok := parseCanonicalOnce(body); ok {
		return env, data, nil
	}
	env, err := decodeCanonical(body)
	if err != nil {
		return usher.Envelope{}, rawjson.Object{}, err
	}
	data, ok := rawjson.DecodeObject(env.Data)
	if !ok { // encoding/json took it: unreachable (FuzzCanonicalParsers)
		return usher.Envelope{}, rawjson.Object{}, usher.Errorf(usher.CodeMalformedEnvelope, "envelope data is not a JSON object")
	}
	return env, data, nil
}

// parseCanonicalOnce is parseCanonical in one pass over body (and one
// decode of data) for a well-formed envelope whose keys are spelled
// exactly; false for any other body, without telling why.
func parseCanonicalOnce(body []byte) (usher.Envelope, rawjson.Object, bool) {
	members, ok := rawjson.Members(body)
	if !ok {
		return usher.Envelope{}, rawjson.Object{}, false
	}
	var typ, ts, raw json.RawMessage
	for _, m := range members {
		switch m.Key {
		case "type":
			typ, ok = stringOrNull(m.Value)
		case "timestamp":
			ts, ok = stringOrNull(m.Value)
		case "data":
			raw = m.Value
		default:
			ok = !envelopeKeyFolded(m.Key)
		}
		if !ok {
			return usher.Envelope{}, rawjson.Object{}, false
		}
	}
	t, okType := rawjson.Unquote(typ)
	stamp, okStamp := rawjson.Unquote(ts)
	if !okType || !okStamp || checkType(t) != nil || len(raw) == 0 || raw[0] != '{' {
		return usher.Envelope{}, rawjson.Object{}, false
	}
	when, err := time.Parse(time.RFC3339, stamp)
	if err != nil || !inRange(when) {
		return usher.Envelope{}, rawjson.Object{}, false
	}
	raw = bytes.Clone(raw)
	data, ok := rawjson.DecodeObject(raw)
	if !ok || !decodedIDsValid(data.Values) {
		return usher.Envelope{}, rawjson.Object{}, false
	}
	return usher.Envelope{Type: t, Timestamp: when.UTC(), Data: raw}, data, true
}

// stringOrNull returns what decoding v into a *string leaves: a JSON string
// as it is, nil for null; false for any other value, which does not decode.
func stringOrNull(v json.RawMessage) (json.RawMessage, bool) {
	switch {
	case v[0] == '"':
		return v, true
	case string(v) == "null":
		return nil, true
	}
	return nil, false
}

// envelopeKeyFolded reports whether encoding/json would decode the member
// key into an envelope field it does not spell exactly ("Type", "DATA",
// "timeſtamp"): it matches a key to a field by their folded forms.
func envelopeKeyFolded(key string) bool {
	switch folded(key, len("timestamp")) {
	case "TYPE", "TIMESTAMP", "DATA":
		return true
	}
	return false
}

// folded returns key as encoding/json folds it to match a struct field,
// each rune replaced by the smallest of its simple case folding orbit, or
// "" when key is too long to fold to a field name of at most n ASCII
// letters.
func folded(key string, n int) string {
	if len(key) > utf8.UTFMax*n {
		return ""
	}
	out := make([]byte, 0, len(key))
	for _, r := range key {
		out = utf8.AppendRune(out, foldRune(r))
	}
	return string(out)
}

// foldRune is encoding/json's: the smallest rune of r's fold orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// decodeCanonical is parseCanonical through encoding/json.
func decodeCanonical(body []byte) (usher.Envelope, error) {
	var raw struct {
		Type      *string         `json:"type"`
		Timestamp *string         `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return usher.Envelope{}, usher.WrapError(usher.CodeMalformedEnvelope, fmt.Errorf("decode envelope: %w", err), "body is not a JSON envelope")
	}
	if raw.Type == nil || *raw.Type == "" {
		return usher.Envelope{}, usher.Errorf(usher.CodeMalformedEnvelope, "envelope has no type")
	}
	if err := checkType(*raw.Type); err != nil {
		return usher.Envelope{}, err
	}
	if raw.Timestamp == nil {
		return usher.Envelope{}, usher.Errorf(usher.CodeMalformedEnvelope, "envelope has no timestamp")
	}
	ts, err := time.Parse(time.RFC3339, *raw.Timestamp)
	if err != nil {
		return usher.Envelope{}, usher.WrapError(usher.CodeMalformedEnvelope, fmt.Errorf("parse envelope timestamp: %w", err), "envelope timestamp is not RFC 3339")
	}
	if !inRange(ts) {
		return usher.Envelope{}, usher.Errorf(usher.CodeMalformedEnvelope, "envelope timestamp must lie between 1970 and 9999")
	}
	data, ok := jsonObject(raw.Data)
	if !ok {
		return usher.Envelope{}, usher.Errorf(usher.CodeMalformedEnvelope, "envelope data is not a JSON object")
	}
	if err := checkIDs(data, canonicalField); err != nil {
		return usher.Envelope{}, err
	}
	return usher.Envelope{Type: *raw.Type, Timestamp: ts.UTC(), Data: data}, nil
}

// maxUnix is the last second of the year 9999, the last that an RFC 3339
// timestamp can carry.
const maxUnix = 253402300799

// inRange reports whether ts lies after the unix epoch and within the year
// 9999 in UTC, so that it survives conversion to UTC and JSON encoding.
func inRange(ts time.Time) bool {
	u := ts.Unix()
	return u > 0 && u <= maxUnix
}

// checkType accepts 1 to 128 bytes of ASCII letters, digits, '.', '_' and '-'.
func checkType(t string) error {
	if t == "" || len(t) > maxTypeLen {
		return usher.Errorf(usher.CodeMalformedEnvelope, "event type must be 1 to %d bytes", maxTypeLen)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return usher.Errorf(usher.CodeMalformedEnvelope, "event type may hold only letters, digits, '.', '_' and '-'")
		}
	}
	return nil
}

// jsonObject returns a trimmed copy of raw when it is a JSON object. raw must
// already be valid JSON (as json.Unmarshal leaves a json.RawMessage).
func jsonObject(raw json.RawMessage) (json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	return bytes.Clone(raw), true
}

// OrderIDOf returns the partition key of env: data.order_id when it is a
// JSON string, else "".
func OrderIDOf(env usher.Envelope) string {
	var data map[string]json.RawMessage
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return ""
	}
	return OrderIDOfFields(data)
}

// OrderIDOfFields is OrderIDOf of data already decoded one level deep (nil
// when it is not a JSON object).
func OrderIDOfFields(data map[string]json.RawMessage) string {
	if id, ok := plainString(data["order_id"]); ok {
		return id
	}
	var id string
	if err := json.Unmarshal(data["order_id"], &id); err != nil {
		return ""
	}
	return id
}
