package webhook_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/webhook"
)

func TestGenerateSecret(t *testing.T) {
	t.Parallel()
	a, err := webhook.GenerateSecret()
	if err != nil {
		t.Fatalf("GenerateSecret() error = %v", err)
	}
	b, err := webhook.GenerateSecret()
	if err != nil {
		t.Fatalf("GenerateSecret() error = %v", err)
	}
	if len(a) != 32 {
		t.Errorf("len(GenerateSecret()) = %d, want 32", len(a))
	}
	if bytes.Equal(a, b) {
		t.Errorf("two GenerateSecret() calls returned the same key %x", a)
	}
	got, err := webhook.DecodeSecret(webhook.EncodeSecret(a))
	if err != nil || !bytes.Equal(got, a) {
		t.Errorf("DecodeSecret(EncodeSecret(k)) = %x, %v, want %x, nil", got, err, a)
	}
}

func TestEncodeSecret(t *testing.T) {
	t.Parallel()
	got := webhook.EncodeSecret([]byte("0123456789abcdefghijklmn"))
	want := "whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u"
	if got != want {
		t.Errorf("EncodeSecret() = %q, want %q", got, want)
	}
}

func TestDecodeSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		wantLen  int
		wantCode usher.Code
	}{
		{"spec example, 24 bytes", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 24, ""},
		{"32 bytes", webhook.EncodeSecret(testKey(7)), 32, ""},
		{"64 bytes", webhook.EncodeSecret(bytes.Repeat([]byte{1}, 64)), 64, ""},
		{"23 bytes", webhook.EncodeSecret(bytes.Repeat([]byte{1}, 23)), 0, usher.CodeInvalid},
		{"65 bytes", webhook.EncodeSecret(bytes.Repeat([]byte{1}, 65)), 0, usher.CodeInvalid},
		{"no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 0, usher.CodeInvalid},
		{"wrong prefix", "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 0, usher.CodeInvalid},
		{"not base64", "whsec_not*base64*at*all*but*long*enough", 0, usher.CodeInvalid},
		{"url-safe base64", "whsec_" + strings.Repeat("-_", 16), 0, usher.CodeInvalid},
		{"empty", "", 0, usher.CodeInvalid},
		{"prefix only", "whsec_", 0, usher.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := webhook.DecodeSecret(tt.in)
			checkCode(t, err, tt.wantCode)
			if len(got) != tt.wantLen {
				t.Errorf("len(DecodeSecret(%q)) = %d, want %d", tt.in, len(got), tt.wantLen)
			}
		})
	}
}
