package usher_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/usherhq/usher"
)

func TestValidateID(t *testing.T) {
	t.Parallel()
	valid := []string{"a", "ord_123", "show-2026.12.31", "GA", "urn:venue:1", "0", strings.Repeat("x", 128),
		"tkt_ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "pi_3MtwBwLkdIwHu7ix28a3tqPa"}
	for _, v := range valid {
		if err := usher.ValidateID("order_id", v); err != nil || !usher.ValidID(v) {
			t.Errorf("ValidateID(%q) = %v, ValidID = %v; want valid", v, err, usher.ValidID(v))
		}
	}
	invalid := []string{"", strings.Repeat("x", 129), "ord\x00", "ord\u202e1", "*", "a*", "a b", "a/b", "_a", "-a", ".a",
		"a\n", "ä", "a\u200b", "a'", "a\"", "a%00", "\xff"}
	for _, v := range invalid {
		err := usher.ValidateID("order_id", v)
		var ue *usher.Error
		if !errors.As(err, &ue) || ue.Code != usher.CodeInvalid || usher.ValidID(v) {
			t.Errorf("ValidateID(%+q) = %v, ValidID = %v; want a CodeInvalid error", v, err, usher.ValidID(v))
			continue
		}
		if !strings.HasPrefix(ue.Message, "order_id ") {
			t.Errorf("ValidateID(%+q) message %q does not name the field first", v, ue.Message)
		}
		if strings.ContainsAny(ue.Message, "\x00\u202e\n") || !utf8.ValidString(ue.Message) {
			t.Errorf("ValidateID(%+q) message %+q repeats an unsafe character", v, ue.Message)
		}
	}
}

func TestValidateEventID(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"msg_p5jXN8AQM9LWM0D4loKWxJek", "evt_1", "2b1c6a2e-1c7e-4c51-9d3e-0e7a3f0b9b11", "a/b#c", strings.Repeat("e", 256)} {
		if err := usher.ValidateEventID("webhook-id", v); err != nil {
			t.Errorf("ValidateEventID(%q) = %v, want nil", v, err)
		}
	}
	for _, v := range []string{"", strings.Repeat("e", 257), "a b", "a\x00", "a\u202e", "é", "a\x7f"} {
		if err := usher.ValidateEventID("webhook-id", v); usher.ErrorCode(err) != usher.CodeInvalid {
			t.Errorf("ValidateEventID(%+q) = %v, want CodeInvalid", v, err)
		}
	}
}

// FuzzValidateID checks the grammar against its definition: whatever passes
// is 1 to 128 bytes of the allowed ASCII characters starting with a letter or
// digit, ValidID agrees with ValidateID, and a refusal names the field and
// never echoes a control, bidi or invalid byte.
func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"ord_1", "", "*", "a\x00b", "a\u202eb", strings.Repeat("a", 129), "a:b.c-d_e", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := usher.ValidateID("field", s)
		if (err == nil) != usher.ValidID(s) {
			t.Fatalf("ValidateID(%+q) = %v but ValidID = %v", s, err, usher.ValidID(s))
		}
		if err == nil {
			if len(s) < 1 || len(s) > usher.MaxIDLen || strings.IndexFunc(s, func(r rune) bool {
				return !(r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)))
			}) >= 0 || strings.ContainsRune("-_.:", rune(s[0])) {
				t.Fatalf("ValidateID accepted %+q", s)
			}
			return
		}
		msg := usher.ErrorMessage(err)
		if usher.ErrorCode(err) != usher.CodeInvalid || !strings.HasPrefix(msg, "field ") {
			t.Fatalf("ValidateID(%+q) = %v, want CodeInvalid naming the field", s, err)
		}
		if !utf8.ValidString(msg) || strings.IndexFunc(msg, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
			t.Fatalf("ValidateID(%+q) message %+q is not plain printable ASCII", s, msg)
		}
	})
}

// TestNewIDIsFreshAndValid: ids keep their prefix, follow the grammar and
// do not repeat.
func TestNewIDIsFreshAndValid(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := usher.NewID("tok_")
		if !strings.HasPrefix(id, "tok_") || len(id) != len("tok_")+24 || !usher.ValidID(id) {
			t.Fatalf("NewID(tok_) = %q: want tok_ and 24 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}
