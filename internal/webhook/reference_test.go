package webhook_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stripe/stripe-go/v82"
	stripewebhook "github.com/stripe/stripe-go/v82/webhook"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/webhook"
)

// The tests in this file check both schemes against the providers' own Go
// libraries: Standard Webhooks' reference library and stripe-go.

func TestStandardAgainstReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret string
		id     string
		body   []byte
	}{
		{"spec example", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", []byte(`{"test": 2432232314}`)},
		{"order fixture", webhook.EncodeSecret(testKey(5)), "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", readTestdata(t, "standard/order_paid.json")},
		{"64-byte key", webhook.EncodeSecret(make([]byte, 64)), "01JDZ8Y3K4M5N6P7Q8R9S0T1V2", readTestdata(t, "standard/inventory_adjusted.json")},
		{"empty body", webhook.EncodeSecret(testKey(6)), "msg_empty", []byte{}},
		{"id with dots", webhook.EncodeSecret(testKey(7)), "a.b.c", []byte(`{"type":"x","timestamp":"2026-11-28T12:00:00Z","data":{}}`)},
	}
	s := mustScheme(t, webhook.SchemeStandardWebhooks)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, err := webhook.DecodeSecret(tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := standardwebhooks.NewWebhook(tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			secrets := []webhook.Secret{{ID: "other", Key: testKey(0xEE)}, {ID: "ref", Key: key}}

			t.Run("theirs signs, ours verifies", func(t *testing.T) {
				ts := testNow()
				sig, err := ref.Sign(tt.id, ts, tt.body)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := sig, webhook.SignatureV1(key, tt.id, ts.Unix(), tt.body); got != want {
					t.Errorf("their signature = %q, want ours %q", got, want)
				}
				h := http.Header{}
				h.Set(standardwebhooks.HeaderWebhookID, tt.id)
				h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
				h.Set(standardwebhooks.HeaderWebhookSignature, sig)
				v, err := s.Verify(h, tt.body, secrets, ts.Add(time.Minute), 0)
				if err != nil {
					t.Fatalf("Verify() error = %v, want nil", err)
				}
				if v.SecretID != "ref" || v.EventID != tt.id || v.Timestamp.Unix() != ts.Unix() {
					t.Errorf("Verify() = %+v, want ref, %s, %d", v, tt.id, ts.Unix())
				}
			})

			t.Run("ours signs, theirs verifies", func(t *testing.T) {
				h := s.Sign(tt.id, time.Now(), tt.body, webhook.Secret{ID: "ref", Key: key})
				if err := ref.Verify(tt.body, h); err != nil {
					t.Errorf("reference Verify(our Sign()) = %v, want nil", err)
				}
				if err := ref.Verify(append([]byte("x"), tt.body...), h); err == nil {
					t.Errorf("reference Verify(tampered body) = nil, want an error")
				}
			})
		})
	}
}

// stripeTestSecretString is a signing secret in the form Stripe issues.
const stripeTestSecretString = "whsec_4f1d9c2b7e6a8f0c3b5d7e9a1c3e5f7b"

func TestStripeAgainstStripeGo(t *testing.T) {
	t.Parallel()
	s := mustScheme(t, webhook.SchemeStripe)
	secrets := []webhook.Secret{stripeTestSecret("old", "whsec_retiredSecretOfLastMonth"), stripeTestSecret("cur", stripeTestSecretString)}
	for _, tt := range stripeFixtures() {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			payload := readTestdata(t, "stripe/"+tt.file)
			signed := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{
				Payload:   payload,
				Secret:    stripeTestSecretString,
				Timestamp: testNow(),
			})

			// The fixture is an event stripe-go itself accepts and decodes.
			ev, err := stripewebhook.ConstructEventWithOptions(signed.Payload, signed.Header, stripeTestSecretString,
				stripewebhook.ConstructEventOptions{IgnoreTolerance: true})
			if err != nil {
				t.Fatalf("stripe-go ConstructEvent() error = %v", err)
			}
			checkStripeObject(t, ev)

			h := http.Header{}
			h.Set("Stripe-Signature", signed.Header)
			v, err := s.Verify(h, signed.Payload, secrets, testNow(), 0)
			if err != nil {
				t.Fatalf("Verify() error = %v, want nil", err)
			}
			want := webhook.Verified{EventID: ev.ID, Timestamp: testNow().UTC(), SecretID: "cur"}
			if v != want {
				t.Errorf("Verify() = %+v, want %+v", v, want)
			}
			env, original, err := s.Normalize(v, signed.Payload)
			if err != nil {
				t.Fatalf("Normalize() error = %v", err)
			}
			if env.Type != tt.wantType || string(original) != string(payload) {
				t.Errorf("Normalize() = %s with %d original bytes, want %s with %d", env.Type, len(original), tt.wantType, len(payload))
			}
			if got, want := env.Timestamp.Unix(), ev.Created; got != want {
				t.Errorf("Timestamp = %d, want created %d", got, want)
			}

			// Past Stripe's tolerance on both sides, and with another secret.
			checkCode(t, errOf(s.Verify(h, signed.Payload, secrets, testNow().Add(stripewebhook.DefaultTolerance+time.Second), 0)), usher.CodeTimestampTolerance)
			checkCode(t, errOf(s.Verify(h, signed.Payload, secrets[:1], testNow(), 0)), usher.CodeInvalidSignature)
		})
	}
}

// errOf returns the error of a Verify call.
func errOf(_ webhook.Verified, err error) error { return err }

// checkStripeObject decodes data.object into stripe-go's type for the event.
func checkStripeObject(t *testing.T, ev stripe.Event) {
	t.Helper()
	var obj any
	switch ev.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		obj = &stripe.CheckoutSession{}
	case "payment_intent.succeeded":
		obj = &stripe.PaymentIntent{}
	case "charge.refunded":
		obj = &stripe.Charge{}
	case "charge.dispute.created", "charge.dispute.closed":
		obj = &stripe.Dispute{}
	case "customer.created":
		obj = &stripe.Customer{}
	default:
		t.Fatalf("no stripe-go type for %s", ev.Type)
	}
	if err := json.Unmarshal(ev.Data.Raw, obj); err != nil {
		t.Errorf("decode %s object with stripe-go: %v", ev.Type, err)
	}
}

func TestStripeRolledSecretAgainstStripeGo(t *testing.T) {
	t.Parallel()
	s := mustScheme(t, webhook.SchemeStripe)
	payload := readTestdata(t, "stripe/charge_refunded.json")
	const oldSecret = "whsec_retiredSecretOfLastMonth"
	a := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: payload, Secret: oldSecret, Timestamp: testNow()})
	b := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: payload, Secret: stripeTestSecretString, Timestamp: testNow()})
	v0 := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: payload, Secret: "whsec_v0", Timestamp: testNow(), Scheme: "v0"})
	header := a.Header + ",v1=" + b.Header[len("t=1795867200,v1="):] + "," + v0.Header[len("t=1795867200,"):]
	h := http.Header{}
	h.Set("Stripe-Signature", header)

	if err := stripewebhook.ValidatePayloadIgnoringTolerance(payload, header, stripeTestSecretString); err != nil {
		t.Fatalf("stripe-go ValidatePayload(%q) = %v, want nil", header, err)
	}
	for _, secret := range []string{oldSecret, stripeTestSecretString} {
		v, err := s.Verify(h, payload, []webhook.Secret{stripeTestSecret(secret, secret)}, testNow(), 0)
		if err != nil || v.SecretID != secret {
			t.Errorf("Verify(%q) with %s = %+v, %v, want that secret", header, secret, v, err)
		}
	}
	checkCode(t, errOf(s.Verify(h, payload, []webhook.Secret{stripeTestSecret("v0", "whsec_v0")}, testNow(), 0)), usher.CodeInvalidSignature)
}

func TestStripeSignAgainstStripeGo(t *testing.T) {
	t.Parallel()
	s := mustScheme(t, webhook.SchemeStripe)
	for _, tt := range stripeFixtures() {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			payload := readTestdata(t, "stripe/"+tt.file)
			h := s.Sign("", time.Now(), payload, stripeTestSecret("cur", stripeTestSecretString))
			if err := stripewebhook.ValidatePayload(payload, h.Get("Stripe-Signature"), stripeTestSecretString); err != nil {
				t.Errorf("stripe-go ValidatePayload(our Sign()) = %v, want nil", err)
			}
			if err := stripewebhook.ValidatePayload(payload, h.Get("Stripe-Signature"), "whsec_other"); err == nil {
				t.Errorf("stripe-go ValidatePayload(our Sign(), other secret) = nil, want an error")
			}
		})
	}
}
