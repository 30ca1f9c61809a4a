package usher

import "unicode/utf8"

// Identifier grammar. Every id that usher accepts from outside — order, show,
// venue, ticket, ticket type (tier), payment reference, device, subscription —
// is 1 to MaxIDLen characters of ASCII letters, digits and '-', '_', '.', ':',
// starting with a letter or digit:
//
//	id = ( ALPHA / DIGIT ) *127( ALPHA / DIGIT / "-" / "_" / "." / ":" )
//
// So an id holds no control, bidi, whitespace, quote, slash or wildcard ('*')
// character, fits every index of either store engine, and reads the same in a
// log, a URL path and a scope ("scanner:<venue_id>"). The webhook receiver and
// every admin route check it at the edge with ValidateID; README.md
// ("Identifiers") documents the same grammar.
//
// A provider's event id (the webhook-id header, Stripe's event id) is not
// ours to shape; ValidateEventID bounds it more loosely.
const MaxIDLen = 128

// MaxEventIDLen bounds a provider's event id.
const MaxEventIDLen = 256

// ValidateID returns nil when value follows the identifier grammar, else an
// *Error with CodeInvalid whose message names field.
func ValidateID(field, value string) error {
	if value == "" || len(value) > MaxIDLen {
		return Errorf(CodeInvalid, "%s must be 1 to %d characters of A-Z, a-z, 0-9, '-', '_', '.', ':'", field, MaxIDLen)
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		if !isIDChar(c) || i == 0 && !isAlnum(c) {
			return Errorf(CodeInvalid, "%s may hold only A-Z, a-z, 0-9, '-', '_', '.', ':' and must start with a letter or digit (byte %d is %+q)", field, i, invalidRune(value[i:]))
		}
	}
	return nil
}

// ValidID reports whether value follows the identifier grammar.
func ValidID(value string) bool {
	if value == "" || len(value) > MaxIDLen || !isAlnum(value[0]) {
		return false
	}
	for i := 1; i < len(value); i++ {
		if !isIDChar(value[i]) {
			return false
		}
	}
	return true
}

// ValidateEventID returns nil when value can be a provider's event id: 1 to
// MaxEventIDLen bytes of printable ASCII other than space. Providers use
// letters, digits and punctuation ("evt_…", "msg_…", UUIDs); nothing else
// needs to pass, and nothing that passes can break a log line or an index.
func ValidateEventID(field, value string) error {
	if value == "" || len(value) > MaxEventIDLen {
		return Errorf(CodeInvalid, "%s must be 1 to %d characters", field, MaxEventIDLen)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c <= ' ' || c > '~' {
			return Errorf(CodeInvalid, "%s may hold only printable ASCII without spaces (byte %d is %+q)", field, i, invalidRune(value[i:]))
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isIDChar(c byte) bool {
	return isAlnum(c) || c == '-' || c == '_' || c == '.' || c == ':'
}

// invalidRune returns the first rune of s for an error message (quoted with
// %+q, so a control or bidi character shows as an escape, never raw).
func invalidRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}
