package webhook_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/webhook"
)

// standardHeader returns Standard Webhooks headers with the given values;
// an empty value leaves its header out.
func standardHeader(id, ts string, sigs ...string) http.Header {
	h := http.Header{}
	if id != "" {
		h.Set("webhook-id", id)
	}
	if ts != "" {
		h.Set("webhook-timestamp", ts)
	}
	for _, s := range sigs {
		h.Add("webhook-signature", s)
	}
	return h
}

func TestStandardVerify(t *testing.T) {
	t.Parallel()
	const id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	body := []byte(`{"type":"order.paid","timestamp":"2026-11-28T12:00:00Z","data":{"order_id":"ord_1"}}`)
	oldKey, newKey := testKey(1), testKey(2)
	rotated := []webhook.Secret{{ID: "new", Key: newKey}, {ID: "old", Key: oldKey}}
	sig := func(key []byte, ts int64, b []byte) string { return webhook.SignatureV1(key, id, ts, b) }
	now := testNow()
	unix := strconv.FormatInt(testUnix, 10)
	good := sig(newKey, testUnix, body)
	wrongB64 := "v1," + strings.Repeat("A", 43) + "="
	stale := int64(testUnix - 300)

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
		{name: "good signature", header: standardHeader(id, unix, good), wantKey: "new"},
		{name: "any of several entries", header: standardHeader(id, unix, "v1a,c2lnbmF0dXJl "+wrongB64+" v2,abc "+good), wantKey: "new"},
		{name: "entries in several header lines", header: standardHeader(id, unix, wrongB64, good), wantKey: "new"},
		{name: "extra spaces between entries", header: standardHeader(id, unix, "  "+wrongB64+"   "+good+"  "), wantKey: "new"},
		{name: "rotated: signed with old key", header: standardHeader(id, unix, sig(oldKey, testUnix, body)), wantKey: "old"},
		{name: "rotated: sender signs with both", header: standardHeader(id, unix, sig(oldKey, testUnix, body)+" "+good), secrets: []webhook.Secret{{ID: "old", Key: oldKey}}, wantKey: "old"},
		{name: "wrong secret", header: standardHeader(id, unix, sig(testKey(3), testUnix, body)), wantCode: usher.CodeInvalidSignature},
		{name: "tampered body", header: standardHeader(id, unix, good), body: []byte(`{"type":"order.paid","timestamp":"2026-11-28T12:00:00Z","data":{"order_id":"ord_2"}}`), wantCode: usher.CodeInvalidSignature},
		{name: "tampered id", header: standardHeader(id+"x", unix, good), wantCode: usher.CodeInvalidSignature},
		{name: "tampered timestamp", header: standardHeader(id, strconv.FormatInt(testUnix+1, 10), good), wantCode: usher.CodeInvalidSignature},
		{name: "signature of another version", header: standardHeader(id, unix, "v2,"+strings.TrimPrefix(good, "v1,")), wantCode: usher.CodeInvalidSignature},
		{name: "missing id", header: standardHeader("", unix, good), wantCode: usher.CodeInvalidSignature},
		{name: "missing timestamp", header: standardHeader(id, "", good), wantCode: usher.CodeInvalidSignature},
		{name: "missing signature", header: standardHeader(id, unix), wantCode: usher.CodeInvalidSignature},
		{name: "empty signature", header: standardHeader(id, unix, ""), wantCode: usher.CodeInvalidSignature},
		{name: "no headers", header: http.Header{}, wantCode: usher.CodeInvalidSignature},
		{name: "nil header", header: nil, wantCode: usher.CodeInvalidSignature},
		{name: "repeated id", header: func() http.Header { h := standardHeader(id, unix, good); h.Add("webhook-id", "other"); return h }(), wantCode: usher.CodeInvalidSignature},
		{name: "id too long", header: standardHeader(strings.Repeat("x", 257), unix, webhook.SignatureV1(newKey, strings.Repeat("x", 257), testUnix, body)), wantCode: usher.CodeInvalidSignature},
		{name: "garbage timestamp", header: standardHeader(id, "yesterday", good), wantCode: usher.CodeInvalidSignature},
		{name: "signed timestamp", header: standardHeader(id, "+"+unix, good), wantCode: usher.CodeInvalidSignature},
		{name: "negative timestamp", header: standardHeader(id, "-"+unix, good), wantCode: usher.CodeInvalidSignature},
		{name: "float timestamp", header: standardHeader(id, unix+".0", good), wantCode: usher.CodeInvalidSignature},
		{name: "millisecond timestamp", header: standardHeader(id, unix+"000", good), wantCode: usher.CodeInvalidSignature},
		{name: "huge timestamp", header: standardHeader(id, strings.Repeat("9", 30), good), wantCode: usher.CodeInvalidSignature},
		{name: "garbage signature", header: standardHeader(id, unix, "garbage"), wantCode: usher.CodeInvalidSignature},
		{name: "version only", header: standardHeader(id, unix, "v1"), wantCode: usher.CodeInvalidSignature},
		{name: "version and comma", header: standardHeader(id, unix, "v1,"), wantCode: usher.CodeInvalidSignature},
		{name: "raw hmac is not base64", header: standardHeader(id, unix, "v1,"+strings.Repeat("\x00", 32)), wantCode: usher.CodeInvalidSignature},
		{name: "no secrets", header: standardHeader(id, unix, good), secrets: []webhook.Secret{}, wantCode: usher.CodeInvalidSignature},
		{name: "empty key never verifies", header: standardHeader(id, unix, sig(nil, testUnix, body)), secrets: []webhook.Secret{{ID: "empty"}}, wantCode: usher.CodeInvalidSignature},
		{name: "stale at the edge", header: standardHeader(id, strconv.FormatInt(stale, 10), sig(newKey, stale, body)), wantKey: "new", wantTS: stale},
		{name: "stale past the edge", header: standardHeader(id, strconv.FormatInt(stale-1, 10), sig(newKey, stale-1, body)), wantCode: usher.CodeTimestampTolerance},
		{name: "future at the edge", header: standardHeader(id, strconv.FormatInt(testUnix+300, 10), sig(newKey, testUnix+300, body)), wantKey: "new", wantTS: testUnix + 300},
		{name: "future past the edge", header: standardHeader(id, strconv.FormatInt(testUnix+301, 10), sig(newKey, testUnix+301, body)), wantCode: usher.CodeTimestampTolerance},
		{name: "year 1970", header: standardHeader(id, "0", sig(newKey, 0, body)), wantCode: usher.CodeTimestampTolerance},
		{name: "tolerance argument", header: standardHeader(id, strconv.FormatInt(testUnix-61, 10), sig(newKey, testUnix-61, body)), tolerance: time.Minute, wantCode: usher.CodeTimestampTolerance},
		{name: "tolerance argument at the edge", header: standardHeader(id, strconv.FormatInt(testUnix-60, 10), sig(newKey, testUnix-60, body)), tolerance: time.Minute, wantKey: "new", wantTS: testUnix - 60},
		{name: "negative tolerance means default", header: standardHeader(id, strconv.FormatInt(stale, 10), sig(newKey, stale, body)), tolerance: -time.Second, wantKey: "new", wantTS: stale},
		{name: "wrong signature and stale: signature first", header: standardHeader(id, "1", wrongB64), wantCode: usher.CodeInvalidSignature},
		{name: "body is not checked", header: standardHeader(id, unix, sig(newKey, testUnix, []byte("not json"))), body: []byte("not json"), wantKey: "new"},
		{name: "empty body", header: standardHeader(id, unix, sig(newKey, testUnix, nil)), body: []byte{}, wantKey: "new"},
	}
	s := mustScheme(t, webhook.SchemeStandardWebhooks)
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
			got, err := s.Verify(tt.header, b, secrets, now, tt.tolerance)
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
			want := webhook.Verified{EventID: id, Timestamp: time.Unix(wantTS, 0).UTC(), SecretID: tt.wantKey}
			if got != want {
				t.Errorf("Verify() = %+v, want %+v", got, want)
			}
		})
	}
}

func TestStandardSign(t *testing.T) {
	t.Parallel()
	s := mustScheme(t, webhook.SchemeStandardWebhooks)
	body := readTestdata(t, "standard/order_paid.json")
	secret := webhook.Secret{ID: "k1", Key: testKey(9)}
	h := s.Sign("msg_1", testNow(), body, secret)
	if got, want := h.Get("webhook-id"), "msg_1"; got != want {
		t.Errorf("webhook-id = %q, want %q", got, want)
	}
	if got, want := h.Get("webhook-timestamp"), strconv.Itoa(testUnix); got != want {
		t.Errorf("webhook-timestamp = %q, want %q", got, want)
	}
	if got, want := h.Values("webhook-signature"), []string{webhook.SignatureV1(secret.Key, "msg_1", testUnix, body)}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("webhook-signature = %q, want %q", got, want)
	}
	v, err := s.Verify(h, body, []webhook.Secret{secret}, testNow(), 0)
	if err != nil || v.SecretID != "k1" || v.EventID != "msg_1" {
		t.Errorf("Verify(Sign()) = %+v, %v, want k1 and msg_1", v, err)
	}
}

// TestSignatureV1 checks the example of the Standard Webhooks specification.
func TestSignatureV1(t *testing.T) {
	t.Parallel()
	key, err := webhook.DecodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := webhook.SignatureV1(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	if got != want {
		t.Errorf("SignatureV1() = %q, want %q", got, want)
	}
}

func TestStandardNormalize(t *testing.T) {
	t.Parallel()
	s := mustScheme(t, webhook.SchemeStandardWebhooks)
	tests := []struct {
		name     string
		body     string
		wantType string
		wantTS   string
		wantData string
		wantCode usher.Code
	}{
		{name: "order.paid fixture", body: string(readTestdata(t, "standard/order_paid.json")), wantType: "order.paid", wantTS: "2026-11-28T12:00:00Z",
			wantData: `{"order_id":"ord_01JDZ8Y3K4M5N6P7Q8R9S0T1V2","show_id":"shw_01JDZ7W2X3Y4Z5A6B7C8D9E0F1","venue_id":"ven_01JDZ6V1W2X3Y4Z5A6B7C8D9E0","items":[{"ticket_type":"GA","quantity":2},{"ticket_type":"VIP","quantity":1}],"buyer":{"email":"ada.lovelace@example.com","name":"Ada Lovelace"},"payment_intent":"pi_3QOvC8LkdIwHu7ix0nVv3Kq7"}`},
		{name: "offset and fraction", body: string(readTestdata(t, "standard/inventory_adjusted.json")), wantType: "inventory.adjusted", wantTS: "2026-11-28T12:30:00.25Z",
			wantData: `{"show_id":"shw_01JDZ7W2X3Y4Z5A6B7C8D9E0F1","ticket_type":"GA","delta":-25,"reason":"fire marshal capacity"}`},
		{name: "empty data object", body: `{"type":"order.created","timestamp":"2026-11-28T12:00:00Z","data":{}}`, wantType: "order.created", wantTS: "2026-11-28T12:00:00Z", wantData: `{}`},
		{name: "unknown fields ignored", body: `{"type":"x.y","timestamp":"2026-11-28T12:00:00Z","data":{"a":1},"extra":true}`, wantType: "x.y", wantTS: "2026-11-28T12:00:00Z", wantData: `{"a":1}`},
		{name: "missing type", body: `{"timestamp":"2026-11-28T12:00:00Z","data":{}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "empty type", body: `{"type":"","timestamp":"2026-11-28T12:00:00Z","data":{}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "type not a string", body: `{"type":7,"timestamp":"2026-11-28T12:00:00Z","data":{}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "type with spaces", body: `{"type":"order paid","timestamp":"2026-11-28T12:00:00Z","data":{}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "type too long", body: `{"type":"` + strings.Repeat("a", 129) + `","timestamp":"2026-11-28T12:00:00Z","data":{}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "missing timestamp", body: `{"type":"order.paid","data":{}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "unix timestamp", body: `{"type":"order.paid","timestamp":1795867200,"data":{}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "timestamp without zone", body: `{"type":"order.paid","timestamp":"2026-11-28T12:00:00","data":{}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "timestamp with space", body: `{"type":"order.paid","timestamp":"2026-11-28 12:00:00Z","data":{}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "timestamp before 1970", body: `{"type":"order.paid","timestamp":"1969-12-31T23:59:59Z","data":{}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "timestamp past 9999 in UTC", body: `{"type":"order.paid","timestamp":"9999-12-31T23:59:59-01:00","data":{}}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "missing data", body: `{"type":"order.paid","timestamp":"2026-11-28T12:00:00Z"}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "null data", body: `{"type":"order.paid","timestamp":"2026-11-28T12:00:00Z","data":null}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "array data", body: `{"type":"order.paid","timestamp":"2026-11-28T12:00:00Z","data":[]}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "string data", body: `{"type":"order.paid","timestamp":"2026-11-28T12:00:00Z","data":"{}"}`, wantCode: usher.CodeMalformedEnvelope},
		{name: "not json", body: `type=order.paid`, wantCode: usher.CodeMalformedEnvelope},
		{name: "trailing garbage", body: `{"type":"order.paid","timestamp":"2026-11-28T12:00:00Z","data":{}} x`, wantCode: usher.CodeMalformedEnvelope},
		{name: "json array", body: `[]`, wantCode: usher.CodeMalformedEnvelope},
		{name: "json null", body: `null`, wantCode: usher.CodeMalformedEnvelope},
		{name: "empty body", body: ``, wantCode: usher.CodeMalformedEnvelope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, original, err := s.Normalize(webhook.Verified{EventID: "msg_1"}, []byte(tt.body))
			checkCode(t, err, tt.wantCode)
			if original != nil {
				t.Errorf("original = %s, want nil for a canonical scheme", original)
			}
			if tt.wantCode != "" {
				return
			}
			if env.Type != tt.wantType {
				t.Errorf("Type = %q, want %q", env.Type, tt.wantType)
			}
			if got := env.Timestamp.Format(time.RFC3339Nano); got != tt.wantTS {
				t.Errorf("Timestamp = %s, want %s", got, tt.wantTS)
			}
			if !jsonEqual(t, env.Data, []byte(tt.wantData)) {
				t.Errorf("Data = %s, want %s", env.Data, tt.wantData)
			}
		})
	}
}

func TestOrderIDOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want string
	}{
		{"string", `{"order_id":"ord_1"}`, "ord_1"},
		{"nested elsewhere", `{"order":{"order_id":"ord_1"}}`, ""},
		{"absent", `{"show_id":"shw_1"}`, ""},
		{"null", `{"order_id":null}`, ""},
		{"number", `{"order_id":42}`, ""},
		{"other case", `{"Order_ID":"ord_1"}`, ""},
		{"not an object", `[1]`, ""},
		{"empty", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := webhook.OrderIDOf(usher.Envelope{Type: "order.paid", Data: []byte(tt.data)}); got != tt.want {
				t.Errorf("OrderIDOf(%s) = %q, want %q", tt.data, got, tt.want)
			}
		})
	}
}
