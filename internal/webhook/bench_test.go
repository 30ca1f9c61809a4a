package webhook_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/usherhq/usher/internal/webhook"
)

// benchBody returns a 1 KiB JSON body.
func benchBody() []byte {
	prefix := []byte(`{"id":"evt_1QOvCALkdIwHu7ixz8xK0cPa","type":"order.paid","timestamp":"2026-11-28T12:00:00Z","data":{"pad":"`)
	suffix := []byte(`"}}`)
	return append(append(prefix, bytes.Repeat([]byte("x"), 1024-len(prefix)-len(suffix))...), suffix...)
}

// benchVerify measures Verify of a request signed with the last of secrets:
// with one secret, and with two as during a rotation.
func benchVerify(b *testing.B, name string, secrets []webhook.Secret) {
	b.Run("1secret", func(b *testing.B) { benchVerifyWith(b, name, secrets[1:]) })
	b.Run("2secrets", func(b *testing.B) { benchVerifyWith(b, name, secrets) })
}

// benchVerifyWith measures Verify of a request signed with the last of secrets.
func benchVerifyWith(b *testing.B, name string, secrets []webhook.Secret) {
	s := mustScheme(b, name)
	body := benchBody()
	if len(body) != 1024 {
		b.Fatalf("body is %d bytes, want 1024", len(body))
	}
	h := s.Sign("msg_1", testNow(), body, secrets[len(secrets)-1])
	req := http.Header{}
	for k, v := range h {
		req[k] = v
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(req, body, secrets, testNow(), 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyStandard1KiB(b *testing.B) {
	benchVerify(b, webhook.SchemeStandardWebhooks, []webhook.Secret{{ID: "old", Key: testKey(1)}, {ID: "new", Key: testKey(2)}})
}

func BenchmarkVerifyStripe1KiB(b *testing.B) {
	benchVerify(b, webhook.SchemeStripe, []webhook.Secret{stripeTestSecret("old", "whsec_old"), stripeTestSecret("new", stripeTestSecretString)})
}
