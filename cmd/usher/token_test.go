package main

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/ushertest"
)

// TestTokenLifecycleFromTheCLI creates a token that expires, lists it
// without its secret, revokes it, and sees the revocation refused at once.
func TestTokenLifecycleFromTheCLI(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	conn := []string{"--url", s.URL(), "--admin-token", ushertest.AdminToken}
	out, err := runCLI(t, append([]string{"token", "create", "--scope", "orders:read", "--expires-in", "24h", "--description", "ci"}, conn...)...)
	var created struct {
		ID        string    `json:"id"`
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err != nil || json.Unmarshal([]byte(out), &created) != nil || created.Token == "" {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	if d := time.Until(created.ExpiresAt); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("expires_at %v, want about 24h from now", created.ExpiresAt)
	}
	out, err = runCLI(t, append([]string{"token", "list", "--output", "json"}, conn...)...)
	if err != nil || !strings.Contains(out, `"id": "`+created.ID+`"`) || !strings.Contains(out, "bootstrap (--admin-token)") || strings.Contains(out, created.Token) {
		t.Fatalf("token list: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"token", "revoke", created.ID}, conn...)...)
	if err != nil || !strings.Contains(out, `"status":"revoked"`) {
		t.Fatalf("token revoke: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "token", "list", "--url", s.URL(), "--admin-token", created.Token); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("list with the revoked token: %v, want a 401", err)
	}
	if _, err := runCLI(t, append([]string{"token", "revoke"}, conn...)...); err == nil {
		t.Error("token revoke without an id succeeded")
	}
}

func TestMetricsAddrFromTheEnvironment(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := map[string]string{"USHER_METRICS_ADDR": "10.0.0.5:9090"}
	cfg, err := loadConfig(fs, nil, func(k string) string { return env[k] })
	if err != nil || cfg.MetricsAddr != "10.0.0.5:9090" {
		t.Fatalf("USHER_METRICS_ADDR: %q, %v", cfg.MetricsAddr, err)
	}
	fs = pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err = loadConfig(fs, []string{"--metrics-addr", "127.0.0.1:9091"}, func(k string) string { return env[k] })
	if err != nil || cfg.MetricsAddr != "127.0.0.1:9091" {
		t.Fatalf("--metrics-addr: %q, %v", cfg.MetricsAddr, err)
	}
}
