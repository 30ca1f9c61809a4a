// Package rawjson appends raw JSON values byte for byte as encoding/json
// encodes a json.RawMessage, without compacting again a value that is
// already compact (as decoded or encoded data is).
package rawjson

import (
	"encoding/json"
	"errors"
)

// ErrInvalid is returned for a value that is not valid JSON.
var ErrInvalid = errors.New("raw JSON value is not valid")

// Append appends raw as json.Marshal encodes a json.RawMessage: null for
// nil, ErrInvalid for invalid JSON (json.Marshal fails too), compacted with
// <, >, & and U+2028/U+2029 escaped. A value already so (no space outside
// its strings, none of those characters) is copied after one validity check.
func Append(dst []byte, raw json.RawMessage) ([]byte, error) {
	if raw == nil {
		return append(dst, "null"...), nil
	}
	if !Valid(raw) {
		return nil, ErrInvalid
	}
	if compactAndSafe(raw) {
		return append(dst, raw...), nil
	}
	out, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	return append(dst, out...), nil
}

// compactAndSafe reports whether valid JSON raw holds no whitespace outside
// its strings and none of the characters json.Marshal escapes inside them.
func compactAndSafe(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !notable[c] {
			continue
		}
		switch {
		case c == '<' || c == '>' || c == '&' || c == 0xe2: // 0xe2 starts U+2028 and U+2029 (and others: then take the slow way)
			return false
		case c == '\\':
			i++ // only inside a string; the escaped character cannot end it
		case c == '"':
			inString = !inString
		case !inString: // whitespace
			return false
		}
	}
	return true
}

// notable are the bytes compactAndSafe looks at.
var notable = [256]bool{'<': true, '>': true, '&': true, 0xe2: true, '\\': true, '"': true, ' ': true, '\t': true, '\n': true, '\r': true}

// AppendString appends s as json.Marshal encodes a string: printable ASCII
// without a character to escape as it is, anything else through
// encoding/json.
func AppendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
