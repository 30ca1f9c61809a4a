package telemetry_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/telemetry"
)

func TestLoggerRedacts(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := telemetry.NewLogger(&buf, slog.LevelDebug, "json")
	log.Info("accepted", "source", "shop", "secret", "whsec_c2VjcmV0", "admin_token", "tok_abc",
		"buyer_email", "alice@example.com", "body", `{"card":"4242"}`, "Authorization", "Bearer xyz")
	out := buf.String()
	for _, leaked := range []string{"whsec_c2VjcmV0", "tok_abc", "alice@example.com", "4242", "Bearer xyz"} {
		if strings.Contains(out, leaked) {
			t.Errorf("log line %q contains %q", out, leaked)
		}
	}
	for _, kept := range []string{`"source":"shop"`, `a***@example.com`} {
		if !strings.Contains(out, kept) {
			t.Errorf("log line %q lacks %q", out, kept)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "bob@x.io": "b***@x.io", "Jane Doe": "J***", "@x": "@***"} {
		if got := telemetry.MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
