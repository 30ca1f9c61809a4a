package rawjson

import "encoding/json"

// Decode decodes raw as a json.Decoder with UseNumber decodes one value
// into an any, the form santhosh-tekuri/jsonschema validates: objects as
// map[string]any (the last of duplicate keys wins), arrays as []any,
// numbers as json.Number, strings, bools and nil. false when raw is not
// valid JSON (as Valid reports).
func Decode(raw []byte) (any, bool) {
	v, end := decodeValue(raw, skipSpace(raw, 0), 0)
	if end < 0 || skipSpace(raw, end) != len(raw) {
		return nil, false
	}
	return v, true
}

// Object is a JSON object decoded once, two ways: one level deep, as the
// text of each member's value, and whole, as Decode decodes it.
type Object struct {
	// Fields holds each member's text (a subslice of the object's text), as
	// json.Unmarshal into a map[string]json.RawMessage gives it.
	Fields map[string]json.RawMessage
	// Values is the object as Decode decodes it.
	Values map[string]any
}

// DecodeObject decodes raw, a JSON object, into both forms of Object in one
// pass; false when raw is not valid JSON (as Valid reports) or not an
// object.
func DecodeObject(raw []byte) (Object, bool) {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return Object{}, false
	}
	fields := make(map[string]json.RawMessage, 8)
	values, end := decodeObject(raw, i, 1, fields)
	if end < 0 || skipSpace(raw, end) != len(raw) {
		return Object{}, false
	}
	return Object{Fields: fields, Values: values}, true
}

// decodeValue decodes the value that starts at raw[i], inside depth
// enclosing arrays and objects, and returns it with the index after it, or
// -1 when it is not valid.
func decodeValue(raw []byte, i, depth int) (any, int) {
	if i >= len(raw) {
		return nil, -1
	}
	switch c := raw[i]; {
	case c == '"':
		end, plain := skipString(raw, i)
		if end < 0 {
			return nil, -1
		}
		s, ok := unquote(raw[i:end], plain)
		if !ok {
			return nil, -1
		}
		return s, end
	case c == '{':
		return decodeObject(raw, i, depth+1, nil)
	case c == '[':
		return decodeArray(raw, i, depth+1)
	case c == '-' || '0' <= c && c <= '9':
		end := skipNumber(raw, i)
		if end < 0 {
			return nil, -1
		}
		return json.Number(raw[i:end]), end
	case c == 't':
		return true, skipLiteral(raw, i, "true")
	case c == 'f':
		return false, skipLiteral(raw, i, "false")
	case c == 'n':
		return nil, skipLiteral(raw, i, "null")
	}
	return nil, -1
}

// decodeObject decodes the object whose '{' is at raw[i], at nesting depth
// depth, and returns it with the index after its '}', or -1. When fields
// is not nil, it also receives the text of each member's value.
func decodeObject(raw []byte, i, depth int, fields map[string]json.RawMessage) (map[string]any, int) {
	if depth > maxDepth {
		return nil, -1
	}
	m := make(map[string]any)
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return m, i + 1
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return nil, -1
		}
		keyEnd, plain := skipString(raw, i)
		if keyEnd < 0 {
			return nil, -1
		}
		key, ok := unquote(raw[i:keyEnd], plain)
		if !ok {
			return nil, -1
		}
		i = skipSpace(raw, keyEnd)
		if i >= len(raw) || raw[i] != ':' {
			return nil, -1
		}
		start := skipSpace(raw, i+1)
		v, end := decodeValue(raw, start, depth)
		if end < 0 {
			return nil, -1
		}
		m[key] = v
		if fields != nil {
			fields[key] = raw[start:end:end]
		}
		next, more := afterMember(raw, end, '}')
		if !more {
			if next < 0 {
				return nil, -1
			}
			return m, next
		}
		i = next
	}
}

// decodeArray decodes the array whose '[' is at raw[i], at nesting depth
// depth, and returns it with the index after its ']', or -1.
func decodeArray(raw []byte, i, depth int) ([]any, int) {
	if depth > maxDepth {
		return nil, -1
	}
	a := make([]any, 0)
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return a, i + 1
	}
	for {
		v, end := decodeValue(raw, i, depth)
		if end < 0 {
			return nil, -1
		}
		a = append(a, v)
		next, more := afterMember(raw, end, ']')
		if !more {
			if next < 0 {
				return nil, -1
			}
			return a, next
		}
		i = next
	}
}
