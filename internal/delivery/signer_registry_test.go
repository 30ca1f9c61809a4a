package delivery

import (
	"bytes"
	"encoding/base64"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"gopkg.in/yaml.v3"
)

// TestSignerRegistryRoundTrip walks every registered signer: a new key signs
// a webhook-signature entry of the signer's version that verifies with what
// the subscriber holds, and fails for another body or another key.
func TestSignerRegistryRoundTrip(t *testing.T) {
	t.Parallel()
	versions := map[string]bool{}
	now := time.Unix(1700000000, 0)
	for _, name := range SignerNames() {
		s, ok := LookupSigner(name)
		if !ok || s.Name() != name {
			t.Fatalf("LookupSigner(%q) = %v, %v", name, s, ok)
		}
		if versions[s.Version()] {
			t.Errorf("%s: version %q is used twice", name, s.Version())
		}
		versions[s.Version()] = true
		key, shown, err := newKey(name, now)
		if err != nil || shown == "" || key.Algorithm != name {
			t.Fatalf("%s: newKey = %+v, %q, %v", name, key, shown, err)
		}
		if published := s.PublishedKey(key.PublicKey); (published != "") != (s.KeyKind() == KeyPublicKey) || published != "" && published != shown {
			t.Errorf("%s: kind %s, published %q, shown %q", name, s.KeyKind(), published, shown)
		}
		other, _, _ := newKey(name, now)
		header := signatures([]usher.SubscriptionKey{key}, "msg_1", now, []byte(`{"a":1}`))
		version, b64, _ := strings.Cut(header, ",")
		sig, err := base64.StdEncoding.DecodeString(b64)
		if version != s.Version() || err != nil {
			t.Fatalf("%s: entry %q, want version %s and base64", name, header, s.Version())
		}
		content := signedContent("msg_1", now, []byte(`{"a":1}`))
		if !s.Verify(key.Secret, key.PublicKey, content, sig) {
			t.Errorf("%s: own signature does not verify", name)
		}
		if s.Verify(key.Secret, key.PublicKey, signedContent("msg_1", now, []byte(`{"a":2}`)), sig) {
			t.Errorf("%s: signature verifies another body", name)
		}
		if s.Verify(other.Secret, other.PublicKey, content, sig) || bytes.Equal(other.Secret, key.Secret) {
			t.Errorf("%s: signature verifies with another key", name)
		}
	}
	if _, _, err := newKey("rsa", now); err == nil {
		t.Error("newKey of an unknown algorithm succeeded")
	}
}

// TestSignerRegistryMatchesOpenAPI checks that every "signing" enum of
// api/openapi.yaml lists exactly the registered signers, and that the
// document names each signer's webhook-signature version.
func TestSignerRegistryMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	enums := propertyEnums(doc, "signing")
	if len(enums) < 2 {
		t.Fatalf("found %d signing enums in api/openapi.yaml, want the subscription and its create request", len(enums))
	}
	for _, e := range enums {
		slices.Sort(e)
		if !slices.Equal(e, SignerNames()) {
			t.Errorf("openapi signing enum %q, registry %q", e, SignerNames())
		}
	}
	for _, name := range SignerNames() {
		s, _ := LookupSigner(name)
		if !bytes.Contains(raw, []byte(`"`+s.Version()+",")) {
			t.Errorf("api/openapi.yaml does not describe the %q entries of %s", s.Version()+",", name)
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
