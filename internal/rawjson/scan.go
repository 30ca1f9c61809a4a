package rawjson

import (
	"encoding/binary"
	"encoding/json"
	"unicode/utf8"
)

// maxDepth is encoding/json's limit of nested arrays and objects: deeper
// documents are invalid for it, so they are here too.
const maxDepth = 10000

// Valid reports whether raw is one JSON value with only whitespace around
// it, exactly as json.Valid does (the same grammar, the same depth limit,
// any bytes but control characters inside strings), in one pass that costs
// a fraction of encoding/json's scanner.
func Valid(raw []byte) bool {
	end, _ := skipValue(raw, skipSpace(raw, 0), 0)
	return end >= 0 && skipSpace(raw, end) == len(raw)
}

// Member is one member of a JSON object: its key, decoded as encoding/json
// decodes it, and the text of its value, a subslice of the object's text.
type Member struct {
	Key   string
	Value json.RawMessage
}

// Members returns the members of raw in their order, duplicates kept, when
// raw is valid JSON (as Valid reports) and an object; false otherwise.
func Members(raw []byte) ([]Member, bool) {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return nil, false
	}
	members := make([]Member, 0, 8)
	end := eachMember(raw, i, 1, func(keyStart, keyEnd int, plain bool, start, end int) bool {
		key, ok := unquote(raw[keyStart:keyEnd], plain)
		members = append(members, Member{Key: key, Value: raw[start:end:end]})
		return ok
	})
	if end < 0 || skipSpace(raw, end) != len(raw) {
		return nil, false
	}
	return members, true
}

// eachMember walks the object whose '{' is at raw[i], at nesting depth
// depth (1 for a top-level object), checking every value, and calls fn
// (unless nil) with the bounds of each key (its quotes included), whether
// the key is plain (see skipString), and the bounds of its value; fn
// returning false stops the walk. It returns the index after the closing
// '}', or -1.
func eachMember(raw []byte, i, depth int, fn func(keyStart, keyEnd int, plain bool, start, end int) bool) int {
	if depth > maxDepth {
		return -1
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return -1
		}
		keyEnd, plain := skipString(raw, i)
		if keyEnd < 0 {
			return -1
		}
		keyStart := i
		i = skipSpace(raw, keyEnd)
		if i >= len(raw) || raw[i] != ':' {
			return -1
		}
		start := skipSpace(raw, i+1)
		end, _ := skipValue(raw, start, depth)
		if end < 0 {
			return -1
		}
		if fn != nil && !fn(keyStart, keyEnd, plain, start, end) {
			return -1
		}
		next, more := afterMember(raw, end, '}')
		if !more {
			if next < 0 {
				return -1
			}
			return next
		}
		i = next
	}
}

// afterMember reads what follows a member or element that ends at end:
// after a ',' the index of the next one (more is true), after closer the
// index past it (more is false), else -1.
func afterMember(raw []byte, end int, closer byte) (next int, more bool) {
	i := skipSpace(raw, end)
	if i >= len(raw) {
		return -1, false
	}
	switch raw[i] {
	case ',':
		return skipSpace(raw, i+1), true
	case closer:
		return i + 1, false
	}
	return -1, false
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(raw []byte, i int) int {
	for i < len(raw) {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue checks the value that starts at raw[i], inside depth enclosing
// arrays and objects, and returns the index after it, or -1 when it is not
// valid. For a string it also reports whether it is plain (see skipString).
func skipValue(raw []byte, i, depth int) (int, bool) {
	if i >= len(raw) {
		return -1, false
	}
	switch c := raw[i]; {
	case c == '"':
		return skipString(raw, i)
	case c == '{':
		return eachMember(raw, i, depth+1, nil), false
	case c == '[':
		return skipArray(raw, i, depth+1), false
	case c == '-' || '0' <= c && c <= '9':
		return skipNumber(raw, i), false
	case c == 't':
		return skipLiteral(raw, i, "true"), false
	case c == 'f':
		return skipLiteral(raw, i, "false"), false
	case c == 'n':
		return skipLiteral(raw, i, "null"), false
	}
	return -1, false
}

// EachObjectMember walks raw, a JSON array of objects, in one pass and calls
// fn with each member of each object, in order, duplicates kept: the
// object's index in the array, the key's text with its quotes (plain
// spellings compare equal to a quoted literal; Unquote decodes any) and
// the value's text, both subslices of raw capped at their end. It returns
// the number of objects (empty ones too), and false when raw is not valid
// JSON (as Valid reports), not an array, holds anything but objects, or fn
// returned false.
func EachObjectMember(raw []byte, fn func(object int, key []byte, value json.RawMessage) bool) (objects int, ok bool) {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '[' {
		return 0, false
	}
	object := 0
	end := eachElement(raw, i, 1, func(i int) int {
		if raw[i] != '{' {
			return -1
		}
		end := eachMember(raw, i, 2, func(keyStart, keyEnd int, _ bool, start, end int) bool {
			return fn(object, raw[keyStart:keyEnd:keyEnd], raw[start:end:end])
		})
		object++
		return end
	})
	return object, end >= 0 && skipSpace(raw, end) == len(raw)
}

// skipArray checks the array whose '[' is at raw[i], at nesting depth
// depth, and returns the index after its ']', or -1.
func skipArray(raw []byte, i, depth int) int {
	return eachElement(raw, i, depth, func(i int) int {
		end, _ := skipValue(raw, i, depth)
		return end
	})
}

// eachElement walks the array whose '[' is at raw[i], at nesting depth
// depth: walk checks the element that starts at raw[i] (never past the end
// of raw) and returns the index after it, or -1. eachElement returns the
// index after the closing ']', or -1.
func eachElement(raw []byte, i, depth int, walk func(i int) int) int {
	if depth > maxDepth {
		return -1
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return i + 1
	}
	for {
		if i >= len(raw) {
			return -1
		}
		end := walk(i)
		if end < 0 {
			return -1
		}
		next, more := afterMember(raw, end, ']')
		if !more {
			if next < 0 {
				return -1
			}
			return next
		}
		i = next
	}
}

// stringStops are the bytes at which the walk over a string's text stops:
// its end, an escape, a control character (invalid) and the start of a
// multi-byte UTF-8 sequence (which makes the string not plain).
var stringStops = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// skipString checks the string whose opening quote is at raw[i] and returns
// the index after its closing quote, or -1, and whether it is plain: free
// of escapes and valid UTF-8, so that its text between the quotes is what
// decoding it gives.
func skipString(raw []byte, i int) (int, bool) {
	plain, high := true, false
	for j := i + 1; j < len(raw); {
		if j+8 <= len(raw) && !hasStringStop(binary.LittleEndian.Uint64(raw[j:])) {
			j += 8
			continue
		}
		c := raw[j]
		if !stringStops[c] {
			j++
			continue
		}
		switch {
		case c == '"':
			if high && plain {
				plain = utf8.Valid(raw[i+1 : j])
			}
			return j + 1, plain
		case c == '\\':
			plain = false
			n := escapeLen(raw[j:])
			if n == 0 {
				return -1, false
			}
			j += n
		case c < 0x20:
			return -1, false
		default: // a byte of a multi-byte sequence (or not valid UTF-8: then not plain)
			high = true
			j++
		}
	}
	return -1, false
}

// hasStringStop reports whether any of the eight bytes in w is one of
// stringStops, eight at a time: a byte below 0x20, '"', '\\' or one with
// its high bit set (the classic has-less-than and has-zero-byte tests,
// exact as a yes or no for the word).
func hasStringStop(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	below20 := (w - 0x20*ones) & ^w & highs
	return below20|hasZero(w^('"'*ones))|hasZero(w^('\\'*ones))|w&highs != 0
}

// escapeLen returns the length of the escape sequence at the start of s
// (which starts with a backslash), or 0 when it is not a valid one.
func escapeLen(s []byte) int {
	if len(s) < 2 {
		return 0
	}
	switch s[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(s) < 6 {
			return 0
		}
		for _, c := range s[2:6] {
			if !isHex(c) {
				return 0
			}
		}
		return 6
	}
	return 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skipNumber checks the number that starts at raw[i] (JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?) and returns the index
// after it, or -1.
func skipNumber(raw []byte, i int) int {
	if raw[i] == '-' {
		i++
	}
	switch {
	case i < len(raw) && raw[i] == '0':
		i++
	case i < len(raw) && '1' <= raw[i] && raw[i] <= '9':
		i = skipDigits(raw, i+1)
	default:
		return -1
	}
	if i < len(raw) && raw[i] == '.' {
		j := skipDigits(raw, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		j := skipDigits(raw, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func skipDigits(raw []byte, i int) int {
	for i < len(raw) && '0' <= raw[i] && raw[i] <= '9' {
		i++
	}
	return i
}

// skipLiteral checks that lit (true, false or null) is at raw[i] and
// returns the index after it, or -1.
func skipLiteral(raw []byte, i int, lit string) int {
	if len(raw)-i < len(lit) || string(raw[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// unquote returns the string that the checked JSON string s (quotes
// included) decodes to, as encoding/json decodes it: the text between the
// quotes when plain, else through encoding/json (escapes, surrogate pairs,
// invalid UTF-8 replaced by U+FFFD). false only if encoding/json refused
// what skipString accepted, which the fuzz test rules out.
func unquote(s []byte, plain bool) (string, bool) {
	if plain {
		return string(s[1 : len(s)-1]), true
	}
	var out string
	if err := json.Unmarshal(s, &out); err != nil {
		return "", false
	}
	return out, true
}

// Unquote returns the string that s, one JSON string with its quotes and
// nothing around it, decodes to, as encoding/json decodes it; false when s
// is not such a string.
func Unquote(s []byte) (string, bool) {
	if len(s) == 0 || s[0] != '"' {
		return "", false
	}
	end, plain := skipString(s, 0)
	if end != len(s) {
		return "", false
	}
	return unquote(s, plain)
}
