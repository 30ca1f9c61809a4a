package webhook_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/rawjson"
	"github.com/usherhq/usher/internal/webhook"
)

// fuzzSecrets returns the secrets the fuzzers verify with.
func fuzzSecrets() []webhook.Secret {
	return []webhook.Secret{{ID: "a", Key: testKey(0xA)}, {ID: "b", Key: testKey(0xB)}}
}

// fuzzKey returns the key of the fuzz secret id.
func fuzzKey(id string) []byte {
	for _, s := range fuzzSecrets() {
		if s.ID == id {
			return s.Key
		}
	}
	return nil
}

// withinTolerance reports whether unix second ts is within 5m of testNow.
func withinTolerance(ts int64) bool {
	d := testUnix - ts
	return d >= -300 && d <= 300
}

// canonicalUnix parses what a well-formed timestamp header holds: 1 to 12
// ASCII digits.
func canonicalUnix(s string) (int64, bool) {
	if s == "" || len(s) > 12 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// checkVerifyError fails t unless err is one of the codes Verify may return
// and v is zero.
func checkVerifyError(t *testing.T, v webhook.Verified, err error) {
	t.Helper()
	switch code := usher.ErrorCode(err); code {
	case usher.CodeInvalidSignature, usher.CodeTimestampTolerance, usher.CodeMalformedEnvelope:
	default:
		t.Fatalf("Verify() error code = %q (%v), want a scheme code", code, err)
	}
	if v != (webhook.Verified{}) {
		t.Fatalf("Verify() = %+v with an error, want the zero Verified", v)
	}
}

func FuzzParseStripeHeader(f *testing.F) {
	a := strings.Repeat("ab", 32)
	for _, s := range []string{
		"t=1795867200,v1=" + a,
		"t=1795867200,v1=" + a + ",v1=" + strings.Repeat("cd", 32) + ",v0=" + a,
		"t=1795867200,t=1795867201,v1=" + a,
		" t=0 , v1=" + a + "=,foo=bar,,=",
		"v1=" + a,
		"t=99999999999999999999,v1=" + a,
		"",
		"t=,v1=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, sigs, err := webhook.ParseStripeHeader(s)
		if err != nil {
			if code := usher.ErrorCode(err); code != usher.CodeInvalidSignature {
				t.Fatalf("ParseStripeHeader(%q) error code = %q, want %q", s, code, usher.CodeInvalidSignature)
			}
			if ts != 0 || sigs != nil {
				t.Fatalf("ParseStripeHeader(%q) = %d, %x with an error, want zero values", s, ts, sigs)
			}
			return
		}
		if ts < 0 || len(sigs) == 0 {
			t.Fatalf("ParseStripeHeader(%q) = %d, %d signatures, want ts >= 0 and a signature", s, ts, len(sigs))
		}
		parts := []string{"t=" + strconv.FormatInt(ts, 10)}
		for _, sig := range sigs {
			if len(sig) != sha256.Size {
				t.Fatalf("ParseStripeHeader(%q) signature %x has %d bytes, want %d", s, sig, len(sig), sha256.Size)
			}
			parts = append(parts, "v1="+hex.EncodeToString(sig))
		}
		again := strings.Join(parts, ",")
		ts2, sigs2, err := webhook.ParseStripeHeader(again)
		if err != nil || ts2 != ts || !slices.EqualFunc(sigs, sigs2, bytes.Equal) {
			t.Fatalf("ParseStripeHeader(%q) = %d, %x, %v, want %d, %x (from %q)", again, ts2, sigs2, err, ts, sigs, s)
		}
	})
}

func FuzzStandardVerify(f *testing.F) {
	body := []byte(`{"type":"order.paid","timestamp":"2026-11-28T12:00:00Z","data":{"order_id":"ord_1"}}`)
	unix := strconv.Itoa(testUnix)
	good := webhook.SignatureV1(testKey(0xA), "msg_1", testUnix, body)
	f.Add("msg_1", unix, good, body)
	f.Add("msg_1", unix, "v1a,AAAA "+good+" v2,x", body)
	f.Add("msg_1", strconv.Itoa(testUnix-301), webhook.SignatureV1(testKey(0xB), "msg_1", testUnix-301, body), body)
	f.Add("msg_1", "0"+unix, good, body)
	f.Add("", unix, good, body)
	f.Add("msg_1", "", good, body)
	f.Add("msg_1", unix, "", body)
	f.Add("msg.1", "-1", "v1,", []byte{})
	f.Add("m", "1e9", "v1,,,, ,v1", []byte("\x00"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		s := mustScheme(t, webhook.SchemeStandardWebhooks)
		v, err := s.Verify(standardHeader(id, ts, sig), body, fuzzSecrets(), testNow(), 0)
		wellFormed := id != "" && len(id) <= 256
		unix, okTS := canonicalUnix(ts)
		wellFormed = wellFormed && okTS
		if err != nil {
			checkVerifyError(t, v, err)
			if code := usher.ErrorCode(err); code == usher.CodeMalformedEnvelope {
				t.Fatalf("Verify() = %v, want no body error from Standard Webhooks", err)
			}
		} else {
			// Only a genuine signature verifies.
			if !wellFormed || !withinTolerance(unix) {
				t.Fatalf("Verify(%q, %q, %q) = %+v, want an error", id, ts, sig, v)
			}
			want := webhook.SignatureV1(fuzzKey(v.SecretID), id, unix, body)
			if !slices.Contains(strings.Fields(sig), want) {
				t.Fatalf("Verify(%q, %q, %q) = %+v, but no entry is %q", id, ts, sig, v, want)
			}
			if v.EventID != id || v.Timestamp.Unix() != unix {
				t.Fatalf("Verify() = %+v, want id %q and ts %d", v, id, unix)
			}
		}

		// A genuine signature among arbitrary entries always verifies.
		if !wellFormed {
			return
		}
		genuine := webhook.SignatureV1(testKey(0xB), id, unix, body)
		v, err = s.Verify(standardHeader(id, ts, sig+" "+genuine), body, fuzzSecrets(), testNow(), 0)
		switch {
		case !withinTolerance(unix):
			if code := usher.ErrorCode(err); code != usher.CodeTimestampTolerance {
				t.Fatalf("Verify(genuine, ts %d) error code = %q (%v), want %q", unix, code, err, usher.CodeTimestampTolerance)
			}
		case err != nil:
			t.Fatalf("Verify(%q, %q, %q) = %v, want a genuine signature to verify", id, ts, sig+" "+genuine, err)
		case v.SecretID != "a" && v.SecretID != "b":
			t.Fatalf("Verify() = %+v, want secret a or b", v)
		}
	})
}

// stripeFuzzSig returns the hex v1 signature of body at ts with fuzz key id.
func stripeFuzzSig(id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, fuzzKey(id))
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func FuzzStripeVerify(f *testing.F) {
	body := []byte(`{"id":"evt_1QOvCALkdIwHu7ixz8xK0cPa","object":"event","type":"charge.refunded","created":1795867200}`)
	good := fmt.Sprintf("t=%d,v1=%s", testUnix, stripeFuzzSig("a", testUnix, body))
	f.Add(good, body)
	f.Add(good+",v1="+strings.Repeat("0", 64)+",v0=ab", body)
	f.Add(fmt.Sprintf("t=%d,v1=%s", testUnix, stripeFuzzSig("b", testUnix, []byte(`{"id":""}`))), []byte(`{"id":""}`))
	f.Add(fmt.Sprintf("t=%d,v1=%s", testUnix, stripeFuzzSig("b", testUnix, []byte(`{}`))), []byte(`{}`))
	f.Add(fmt.Sprintf("t=%d,v1=%s", testUnix+301, stripeFuzzSig("a", testUnix+301, body)), body)
	f.Add("t=1795867200", []byte(`{"id":"evt_1"}`))
	f.Add("", []byte{})
	f.Add("t=x,v1=y,,=", []byte("null"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		s := mustScheme(t, webhook.SchemeStripe)
		h := http.Header{}
		h.Set("Stripe-Signature", header)
		v, err := s.Verify(h, body, fuzzSecrets(), testNow(), 0)
		ts, sigs, perr := webhook.ParseStripeHeader(header)
		if err != nil {
			checkVerifyError(t, v, err)
		} else {
			// Only a genuine signature verifies.
			if header == "" || perr != nil || !withinTolerance(ts) || v.EventID == "" {
				t.Fatalf("Verify(%q) = %+v, want an error", header, v)
			}
			want := stripeFuzzSig(v.SecretID, ts, body)
			if !slices.ContainsFunc(sigs, func(sig []byte) bool { return hex.EncodeToString(sig) == want }) {
				t.Fatalf("Verify(%q) = %+v, but no v1 is %s", header, v, want)
			}
		}

		// A genuine signature among arbitrary entries always authenticates.
		if perr != nil {
			return
		}
		h.Set("Stripe-Signature", header+",v1="+stripeFuzzSig("b", ts, body))
		v, err = s.Verify(h, body, fuzzSecrets(), testNow(), 0)
		code := usher.ErrorCode(err)
		switch {
		case code == usher.CodeInvalidSignature:
			t.Fatalf("Verify(%q) = %v, want a genuine signature to verify", h.Get("Stripe-Signature"), err)
		case !withinTolerance(ts) && code != usher.CodeTimestampTolerance:
			t.Fatalf("Verify(ts %d) error code = %q (%v), want %q", ts, code, err, usher.CodeTimestampTolerance)
		case err == nil && v.EventID == "":
			t.Fatalf("Verify() = %+v, want an event id", v)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, dir := range []string{"standard", "stripe"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":"pi_1","metadata":{"order_id":"o","items":"[{\"ticket_type\":\"GA\",\"quantity\":1}]"}}}}`))
	f.Add([]byte(`{"type":"a","timestamp":"2026-11-28T12:00:00+14:00","data":{"order_id":"o"}}`))
	f.Add([]byte(`{"type":"charge.dispute.closed","created":9,"data":{"object":{"status":"won","charge":{"id":"ch"},"payment_intent":null}}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, name := range webhook.Names() {
			s := mustScheme(t, name)
			env, original, err := s.Normalize(webhook.Verified{EventID: "evt_1"}, body)
			checkNormalizeDecoded(t, s, body, env, original, err)
			if err != nil {
				if code := usher.ErrorCode(err); code != usher.CodeMalformedEnvelope {
					t.Fatalf("%s Normalize() error code = %q (%v), want %q", name, code, err, usher.CodeMalformedEnvelope)
				}
				if env.Type != "" || env.Data != nil || original != nil {
					t.Fatalf("%s Normalize() = %+v, %q with an error, want zero values", name, env, original)
				}
				continue
			}
			if env.Type == "" {
				t.Fatalf("%s Normalize() type is empty", name)
			}
			var data map[string]any
			if err := json.Unmarshal(env.Data, &data); err != nil || data == nil {
				t.Fatalf("%s Normalize() data %q is not a JSON object: %v", name, env.Data, err)
			}
			if env.Timestamp.Unix() <= 0 || env.Timestamp.Location() != time.UTC {
				t.Fatalf("%s Normalize() timestamp = %v, want after 1970 in UTC", name, env.Timestamp)
			}
			if _, err := json.Marshal(env); err != nil {
				t.Fatalf("%s Normalize() envelope does not encode: %v", name, err)
			}
			switch name {
			case webhook.SchemeStripe:
				if !bytes.Equal(original, body) {
					t.Fatalf("stripe Normalize() original = %q, want the body", original)
				}
			default:
				if original != nil {
					t.Fatalf("%s Normalize() original = %q, want nil", name, original)
				}
			}
			if id := webhook.OrderIDOf(env); id != "" && !usher.ValidID(id) {
				t.Fatalf("%s Normalize() accepted order id %+q outside the identifier grammar", name, id)
			}
		}
	})
}

// checkNormalizeDecoded fails when NormalizeDecoded does not give what
// Normalize gave (env, original, err) with the data decoded.
func checkNormalizeDecoded(t *testing.T, s webhook.Scheme, body []byte, env usher.Envelope, original []byte, err error) {
	t.Helper()
	n, nerr := webhook.NormalizeDecoded(s, webhook.Verified{EventID: "evt_1"}, body)
	if (nerr == nil) != (err == nil) || usher.ErrorMessage(nerr) != usher.ErrorMessage(err) {
		t.Fatalf("%s NormalizeDecoded() error = %v, Normalize() %v", s.Name(), nerr, err)
	}
	if err != nil {
		return
	}
	want, ok := rawjson.DecodeObject(env.Data)
	if !ok || !reflect.DeepEqual(n.Envelope, env) || !bytes.Equal(n.Original, original) || !reflect.DeepEqual(n.Decoded, want) {
		t.Fatalf("%s NormalizeDecoded() = %+v, want %+v, %q and data decoded as %+v", s.Name(), n, env, original, want)
	}
}
