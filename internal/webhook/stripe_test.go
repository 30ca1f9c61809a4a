package webhook_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/webhook"
)

// stripeSig returns the hex v1 signature Stripe sends for body at ts.
func stripeSig(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// stripeHeader returns a header with one Stripe-Signature value, or none
// when value is "".
func stripeHeader(value string) http.Header {
	h := http.Header{}
	if value != "" {
		h.Set("Stripe-Signature", value)
	}
	return h
}

func TestParseStripeHeader(t *testing.T) {
	t.Parallel()
	a := strings.Repeat("ab", 32)
	b := strings.Repeat("0F", 32)
	tests := []struct {
		name     string
		in       string
		wantTS   int64
		wantSigs []string
		wantCode usher.Code
	}{
		{name: "one v1", in: "t=1795867200,v1=" + a, wantTS: 1795867200, wantSigs: []string{a}},
		{name: "rolled secret", in: "t=1795867200,v1=" + a + ",v1=" + b + ",v0=" + a, wantTS: 1795867200, wantSigs: []string{a, strings.ToLower(b)}},
		{name: "t last", in: "v1=" + a + ",t=1795867200", wantTS: 1795867200, wantSigs: []string{a}},
		{name: "unknown keys ignored", in: "t=1795867200,v2=zz,foo=bar,v1=" + a + ",=,x", wantTS: 1795867200, wantSigs: []string{a}},
		{name: "spaces around entries", in: " t=1795867200 , v1=" + a + " ", wantTS: 1795867200, wantSigs: []string{a}},
		{name: "malformed v1 skipped", in: "t=1795867200,v1=nothex,v1=abcd,v1=" + a + "00,v1=" + a, wantTS: 1795867200, wantSigs: []string{a}},
		{name: "v1 with extra equals skipped", in: "t=1795867200,v1=" + a + "=,v1=" + b, wantTS: 1795867200, wantSigs: []string{strings.ToLower(b)}},
		{name: "malformed t skipped", in: "t=soon,t=1795867200,v1=" + a, wantTS: 1795867200, wantSigs: []string{a}},
		{name: "same t twice", in: "t=1795867200,t=1795867200,v1=" + a, wantTS: 1795867200, wantSigs: []string{a}},
		{name: "two t", in: "t=1795867200,t=1795867201,v1=" + a, wantCode: usher.CodeInvalidSignature},
		{name: "no t", in: "v1=" + a, wantCode: usher.CodeInvalidSignature},
		{name: "only malformed t", in: "t=-1,v1=" + a, wantCode: usher.CodeInvalidSignature},
		{name: "no v1", in: "t=1795867200,v0=" + a, wantCode: usher.CodeInvalidSignature},
		{name: "only malformed v1", in: "t=1795867200,v1=xyz", wantCode: usher.CodeInvalidSignature},
		{name: "empty", in: "", wantCode: usher.CodeInvalidSignature},
		{name: "commas", in: ",,,", wantCode: usher.CodeInvalidSignature},
		{name: "semicolons", in: "t=1795867200;v1=" + a, wantCode: usher.CodeInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, sigs, err := webhook.ParseStripeHeader(tt.in)
			checkCode(t, err, tt.wantCode)
			if ts != tt.wantTS {
				t.Errorf("ts = %d, want %d", ts, tt.wantTS)
			}
			got := make([]string, len(sigs))
			for i, s := range sigs {
				got[i] = hex.EncodeToString(s)
			}
			if strings.Join(got, ",") != strings.Join(tt.wantSigs, ",") {
				t.Errorf("v1 = %q, want %q", got, tt.wantSigs)
			}
		})
	}
}

func TestStripeVerify(t *testing.T) {
	t.Parallel()
	const oldSecret, newSecret = "whsec_0ldS3cretF0rTheT1cketsEndp0int", "whsec_n3wS3cretF0rTheT1cketsEndp0int"
	rotated := []webhook.Secret{stripeTestSecret("new", newSecret), stripeTestSecret("old", oldSecret)}
	body := []byte(`{"id":"evt_1QOvCALkdIwHu7ixz8xK0cPa","object":"event","type":"customer.created","created":1795867200,"data":{"object":{}}}`)
	hdr := func(secret string, ts int64, b []byte) string {
		return fmt.Sprintf("t=%d,v1=%s", ts, stripeSig(secret, ts, b))
	}
	good := hdr(newSecret, testUnix, body)
	wrong := strings.Repeat("00", 32)
	stale := int64(testUnix - 300)
	noID := []byte(`{"object":"event","type":"customer.created"}`)
	emptyID := []byte(`{"id":"","object":"event"}`)
	numID := []byte(`{"id":42}`)
	notJSON := []byte(`id=evt_1`)

	tests := []struct {
		name      string
		header    http.Header
		body      []byte
		secrets   []webhook.Secret
		tolerance time.Duration
		wantCode  usher.Code
		wantKey   string
		wantTS    int64
	}{
		{name: "good signature", header: stripeHeader(good), wantKey: "new"},
		{name: "any of several v1", header: stripeHeader(fmt.Sprintf("t=%d,v1=%s,v1=%s,v0=%s", testUnix, wrong, stripeSig(newSecret, testUnix, body), wrong)), wantKey: "new"},
		{name: "rotated: signed with old secret", header: stripeHeader(hdr(oldSecret, testUnix, body)), wantKey: "old"},
		{name: "rotated: Stripe signs with both", header: stripeHeader(fmt.Sprintf("t=%d,v1=%s,v1=%s", testUnix, stripeSig(newSecret, testUnix, body), stripeSig(oldSecret, testUnix, body))), secrets: []webhook.Secret{stripeTestSecret("old", oldSecret)}, wantKey: "old"},
		{name: "wrong secret", header: stripeHeader(hdr("whsec_other", testUnix, body)), wantCode: usher.CodeInvalidSignature},
		{name: "key is the whole string, not its base64", header: stripeHeader(hdr(strings.TrimPrefix(newSecret, "whsec_"), testUnix, body)), wantCode: usher.CodeInvalidSignature},
		{name: "tampered body", header: stripeHeader(good), body: bytes.Replace(body, []byte("customer"), []byte("costumer"), 1), wantCode: usher.CodeInvalidSignature},
		{name: "tampered timestamp", header: stripeHeader(fmt.Sprintf("t=%d,v1=%s", testUnix-1, stripeSig(newSecret, testUnix, body))), wantCode: usher.CodeInvalidSignature},
		{name: "v0 only", header: stripeHeader(fmt.Sprintf("t=%d,v0=%s", testUnix, stripeSig(newSecret, testUnix, body))), wantCode: usher.CodeInvalidSignature},
		{name: "missing header", header: http.Header{}, wantCode: usher.CodeInvalidSignature},
		{name: "nil header", header: nil, wantCode: usher.CodeInvalidSignature},
		{name: "repeated header", header: func() http.Header { h := stripeHeader(good); h.Add("Stripe-Signature", good); return h }(), wantCode: usher.CodeInvalidSignature},
		{name: "garbage header", header: stripeHeader("garbage"), wantCode: usher.CodeInvalidSignature},
		{name: "no timestamp", header: stripeHeader("v1=" + stripeSig(newSecret, testUnix, body)), wantCode: usher.CodeInvalidSignature},
		{name: "garbage timestamp", header: stripeHeader("t=now,v1=" + stripeSig(newSecret, testUnix, body)), wantCode: usher.CodeInvalidSignature},
		{name: "uppercase hex", header: stripeHeader(fmt.Sprintf("t=%d,v1=%s", testUnix, strings.ToUpper(stripeSig(newSecret, testUnix, body)))), wantKey: "new"},
		{name: "no secrets", header: stripeHeader(good), secrets: []webhook.Secret{}, wantCode: usher.CodeInvalidSignature},
		{name: "empty key never verifies", header: stripeHeader(hdr("", testUnix, body)), secrets: []webhook.Secret{{ID: "empty"}}, wantCode: usher.CodeInvalidSignature},
		{name: "stale at the edge", header: stripeHeader(hdr(newSecret, stale, body)), wantKey: "new", wantTS: stale},
		{name: "stale past the edge", header: stripeHeader(hdr(newSecret, stale-1, body)), wantCode: usher.CodeTimestampTolerance},
		{name: "future at the edge", header: stripeHeader(hdr(newSecret, testUnix+300, body)), wantKey: "new", wantTS: testUnix + 300},
		{name: "future past the edge", header: stripeHeader(hdr(newSecret, testUnix+301, body)), wantCode: usher.CodeTimestampTolerance},
		{name: "tolerance argument", header: stripeHeader(hdr(newSecret, testUnix+11, body)), tolerance: 10 * time.Second, wantCode: usher.CodeTimestampTolerance},
		{name: "wrong signature and stale: signature first", header: stripeHeader("t=1,v1=" + wrong), wantCode: usher.CodeInvalidSignature},
		{name: "stale and no id: timestamp first", header: stripeHeader(hdr(newSecret, stale-1, noID)), body: noID, wantCode: usher.CodeTimestampTolerance},
		{name: "wrong signature and no id: signature first", header: stripeHeader(good), body: noID, wantCode: usher.CodeInvalidSignature},
		{name: "no event id", header: stripeHeader(hdr(newSecret, testUnix, noID)), body: noID, wantCode: usher.CodeMalformedEnvelope},
		{name: "empty event id", header: stripeHeader(hdr(newSecret, testUnix, emptyID)), body: emptyID, wantCode: usher.CodeMalformedEnvelope},
		{name: "numeric event id", header: stripeHeader(hdr(newSecret, testUnix, numID)), body: numID, wantCode: usher.CodeMalformedEnvelope},
		{name: "body not json", header: stripeHeader(hdr(newSecret, testUnix, notJSON)), body: notJSON, wantCode: usher.CodeMalformedEnvelope},
	}
	s := mustScheme(t, webhook.SchemeStripe)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := body
			if tt.body != nil {
				b = tt.body
			}
			secrets := rotated
			if tt.secrets != nil {
				secrets = tt.secrets
			}
			got, err := s.Verify(tt.header, b, secrets, testNow(), tt.tolerance)
			checkCode(t, err, tt.wantCode)
			if tt.wantCode != "" {
				if got != (webhook.Verified{}) {
					t.Errorf("Verify() = %+v on error, want the zero Verified", got)
				}
				return
			}
			wantTS := tt.wantTS
			if wantTS == 0 {
				wantTS = testUnix
			}
			want := webhook.Verified{EventID: "evt_1QOvCALkdIwHu7ixz8xK0cPa", Timestamp: time.Unix(wantTS, 0).UTC(), SecretID: tt.wantKey}
			if got != want {
				t.Errorf("Verify() = %+v, want %+v", got, want)
			}
		})
	}
}

func TestStripeSign(t *testing.T) {
	t.Parallel()
	s := mustScheme(t, webhook.SchemeStripe)
	body := readTestdata(t, "stripe/customer_created.json")
	secret := stripeTestSecret("k1", "whsec_signMe")
	h := s.Sign("ignored", testNow(), body, secret)
	want := fmt.Sprintf("t=%d,v1=%s", testUnix, stripeSig("whsec_signMe", testUnix, body))
	if got := h.Get("Stripe-Signature"); got != want {
		t.Errorf("Stripe-Signature = %q, want %q", got, want)
	}
	if len(h) != 1 {
		t.Errorf("Sign() set %d headers (%v), want 1", len(h), h)
	}
	v, err := s.Verify(h, body, []webhook.Secret{secret}, testNow(), 0)
	if err != nil || v.EventID != "evt_1QOvC9LkdIwHu7ixK7lZ9xC1" || v.SecretID != "k1" {
		t.Errorf("Verify(Sign()) = %+v, %v, want evt_1QOvC9LkdIwHu7ixK7lZ9xC1 and k1", v, err)
	}
}
