package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/usherhq/usher"
)

// hexScheme is a scheme that exists only in this test: it proves that a new
// provider needs one type implementing Scheme plus one registry entry, and
// that the generic paths (SourceSecret for the admin API, SignWithText for
// usher send, Verify and Normalize for the receiver) take it unchanged.
type hexScheme struct{}

func (hexScheme) Name() string                    { return "test-hex" }
func (hexScheme) DefaultTolerance() time.Duration { return time.Minute }
func (hexScheme) EventIDField() string            { return "x-test-id" }

func (hexScheme) Verify(h http.Header, body []byte, secrets []Secret, now time.Time, tol time.Duration) (Verified, error) {
	id, err := singleHeader(h, "X-Test-Id")
	if err != nil {
		return Verified{}, err
	}
	ts, ok := parseUnix(h.Get("X-Test-Timestamp"))
	if !ok {
		return Verified{}, usher.Errorf(usher.CodeInvalidSignature, "bad timestamp")
	}
	for _, s := range secrets {
		if hmac.Equal([]byte(h.Get("X-Test-Signature")), []byte(hexMAC(s.Key, id, body))) {
			v := Verified{EventID: id, Timestamp: time.Unix(ts, 0).UTC(), SecretID: s.ID}
			return v, checkTolerance(v.Timestamp, now, tol, time.Minute)
		}
	}
	return Verified{}, usher.Errorf(usher.CodeInvalidSignature, "no signature matched")
}

func (hexScheme) Normalize(_ Verified, body []byte) (usher.Envelope, []byte, error) {
	env, _, err := parseCanonical(body)
	return env, nil, err
}

func (hexScheme) Sign(id string, ts time.Time, body []byte, s Secret) http.Header {
	h := http.Header{}
	h.Set("X-Test-Id", id)
	h.Set("X-Test-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("X-Test-Signature", hexMAC(s.Key, id, body))
	return h
}

func (hexScheme) ParseSecret(text string) ([]byte, error) {
	raw, err := hex.DecodeString(text)
	if err != nil || len(raw) != 16 {
		return nil, usher.Errorf(usher.CodeInvalid, "a test-hex secret is 32 hex digits")
	}
	return raw, nil
}

func (hexScheme) NewSecret() (string, error) {
	raw := make([]byte, 16)
	_, err := rand.Read(raw)
	return hex.EncodeToString(raw), err
}

func hexMAC(key []byte, id string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// TestRegistryRoundTrip walks every registered scheme, plus one registered
// only here, through the paths the admin API, usher send and the receiver
// take: create a secret, sign a request with its text, verify, normalize;
// a secret of another source must not verify, and a malformed given secret
// is refused with CodeInvalid.
func TestRegistryRoundTrip(t *testing.T) {
	t.Parallel()
	registry := append(builtin(), hexScheme{})
	if got := namesOf(registry); !slices.Contains(got, "test-hex") || len(got) != len(builtin())+1 {
		t.Fatalf("names of the extended registry = %q", got)
	}
	now := time.Now()
	for _, name := range namesOf(registry) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, ok := lookupIn(registry, name)
			if !ok || s.Name() != name {
				t.Fatalf("lookupIn(%q) = %v, %v", name, s, ok)
			}
			key, text, err := SourceSecret(s, "")
			if err != nil || len(key) == 0 || text == "" {
				t.Fatalf("SourceSecret: %q, %q, %v", key, text, err)
			}
			if again, err := s.ParseSecret(text); err != nil || !bytes.Equal(again, key) {
				t.Fatalf("ParseSecret(NewSecret text) = %q, %v; want the same key", again, err)
			}
			if _, _, err := SourceSecret(s, "short"); usher.ErrorCode(err) != usher.CodeInvalid {
				t.Fatalf("SourceSecret(given %q) error = %v, want code invalid", "short", err)
			}
			body := sampleBody(t, s, "evt_round_trip")
			h, err := SignWithText(s, "evt_round_trip", now, body, text)
			if err != nil {
				t.Fatalf("SignWithText: %v", err)
			}
			_, other, _ := SourceSecret(s, "")
			otherKey, _ := s.ParseSecret(other)
			if _, err := s.Verify(h, body, []Secret{{ID: "other", Key: otherKey}}, now, 0); usher.ErrorCode(err) != usher.CodeInvalidSignature {
				t.Fatalf("Verify with another secret: %v, want invalid signature", err)
			}
			v, err := s.Verify(h, body, []Secret{{ID: "other", Key: otherKey}, {ID: "mine", Key: key}}, now, 0)
			if err != nil || v.SecretID != "mine" || v.EventID != "evt_round_trip" {
				t.Fatalf("Verify = %+v, %v", v, err)
			}
			env, _, err := s.Normalize(v, body)
			if err != nil || env.Type != usher.TypeOrderPaid {
				t.Fatalf("Normalize = %+v, %v", env, err)
			}
			if s.EventIDField() == "" {
				t.Error("EventIDField is empty")
			}
		})
	}
}

// sampleBody returns an order.paid body as a provider of s sends it.
func sampleBody(t *testing.T, s Scheme, id string) []byte {
	t.Helper()
	if s.Name() == SchemeStripe {
		return []byte(`{"id":"` + id + `","type":"checkout.session.completed","created":1700000000,"data":{"object":{"id":"cs_1","payment_status":"paid","payment_intent":"pi_1","metadata":{"order_id":"ord_1"}}}}`)
	}
	return []byte(`{"type":"order.paid","timestamp":"2024-01-01T00:00:00Z","data":{"order_id":"ord_1"}}`)
}

// TestRegistryMatchesOpenAPI checks that every scheme enum of
// api/openapi.yaml lists exactly the registered schemes.
func TestRegistryMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	enums := propertyEnums(doc, "scheme")
	if len(enums) < 2 {
		t.Fatalf("found %d scheme enums in api/openapi.yaml, want the source and its create request", len(enums))
	}
	for _, e := range enums {
		slices.Sort(e)
		if !slices.Equal(e, Names()) {
			t.Errorf("openapi scheme enum %q, registry %q", e, Names())
		}
	}
}

// propertyEnums returns the enum of every property named prop in the tree.
func propertyEnums(node any, prop string) [][]string {
	var out [][]string
	switch n := node.(type) {
	case map[string]any:
		if p, ok := n[prop].(map[string]any); ok {
			if enum, ok := p["enum"].([]any); ok {
				var names []string
				for _, v := range enum {
					s, _ := v.(string)
					names = append(names, s)
				}
				out = append(out, names)
			}
		}
		for _, v := range n {
			out = append(out, propertyEnums(v, prop)...)
		}
	case []any:
		for _, v := range n {
			out = append(out, propertyEnums(v, prop)...)
		}
	}
	return out
}
