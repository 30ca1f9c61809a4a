package webhook_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/webhook"
)

// testUnix is 2026-11-28T12:00:00Z, the "now" of the tests.
const testUnix = 1795867200

// testNow returns the injected clock of the tests.
func testNow() time.Time { return time.Unix(testUnix, 0) }

// testKey returns a 32-byte key filled with b.
func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// stripeTestSecret returns a Stripe secret: the key is the whole string.
func stripeTestSecret(id, s string) webhook.Secret {
	return webhook.Secret{ID: id, Key: []byte(s)}
}

// mustScheme returns the registered scheme name.
func mustScheme(t testing.TB, name string) webhook.Scheme {
	t.Helper()
	s, ok := webhook.Lookup(name)
	if !ok {
		t.Fatalf("Lookup(%q) = _, false, want a scheme", name)
	}
	return s
}

// readTestdata returns the file under testdata/.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkCode fails t unless err carries the usher code want ("" for nil).
func checkCode(t *testing.T, err error, want usher.Code) {
	t.Helper()
	if got := usher.ErrorCode(err); got != want {
		t.Errorf("error code = %q (%v), want %q", got, err, want)
	}
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("unmarshal %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	return bytes.Equal(ca, cb)
}
