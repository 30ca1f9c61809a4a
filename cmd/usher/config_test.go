package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/usherhq/usher/internal/server"
)

// load runs loadConfig on a fresh flag set with env as the environment.
func load(t *testing.T, args []string, env map[string]string) (server.Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return loadConfig(fs, args, func(k string) string { return env[k] })
}

// TestDeliveryAndPassSettings: the delivery and pass settings come through
// the one configuration path: YAML keys, then USHER_* variables (the names
// they always had), then flags, each overriding the one before.
func TestDeliveryAndPassSettings(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "usher.yaml")
	yaml := "delivery:\n  retry_schedule: [10s, 1m]\n  timeout: 30s\n  concurrency: 2\n  allow_private_destinations: true\n" +
		"  poll_interval: 1s\npublic_url: https://file.example\npass_ttl: 20m\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"USHER_CONFIG":                    file,
		"USHER_DELIVERY_CONCURRENCY":      "3",
		"USHER_DELIVERY_CONNECT_TIMEOUT":  "2s",
		"USHER_DELIVERY_BREAKER_FAILURES": "7",
		"USHER_DELIVERY_BREAKER_TIMEOUT":  "90s",
		"USHER_DELIVERY_REPLAY_RATE":      "25.5",
		"USHER_DELIVERY_RETENTION":        "48h",
		"USHER_PUBLIC_URL":                "https://env.example",
		"USHER_PASS_MAX_TTL":              "2h",
		"USHER_DELIVERY_POLL_INTERVAL":    "250ms",
	}
	cfg, err := load(t, []string{"--delivery-concurrency", "4", "--allow-private-destinations=false", "--pass-ttl", "5m",
		"--delivery-retry-schedule", "5s,5m"}, env)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Delivery
	if !slices.Equal(d.RetrySchedule, []time.Duration{5 * time.Second, 5 * time.Minute}) || d.Timeout != 30*time.Second ||
		d.Concurrency != 4 || d.AllowPrivate || d.ConnectTimeout != 2*time.Second || d.PollInterval != 250*time.Millisecond ||
		d.BreakerFailures != 7 || d.BreakerTimeout != 90*time.Second || d.ReplayRate != 25.5 || d.Retention != 48*time.Hour {
		t.Errorf("delivery config %+v", d)
	}
	if cfg.PublicURL != "https://env.example" || cfg.PassTTL != 5*time.Minute || cfg.PassMaxTTL != 2*time.Hour {
		t.Errorf("pass config: public url %q, ttl %s, max %s", cfg.PublicURL, cfg.PassTTL, cfg.PassMaxTTL)
	}
	if err := cfg.WithDefaults().Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	fromFile, err := load(t, nil, map[string]string{"USHER_CONFIG": file})
	if err != nil || !fromFile.Delivery.AllowPrivate || !slices.Equal(fromFile.Delivery.RetrySchedule, []time.Duration{10 * time.Second, time.Minute}) || fromFile.PublicURL != "https://file.example" {
		t.Errorf("YAML only: %+v, %v", fromFile.Delivery, err)
	}
}

// TestBadDeliverySettingsAreRefused: a value that does not parse names its
// variable; one that parses but cannot work fails Validate.
func TestBadDeliverySettingsAreRefused(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{
		{"USHER_DELIVERY_RETRY_SCHEDULE": "5s,later"},
		{"USHER_DELIVERY_RETRY_SCHEDULE": "100ms"},
		{"USHER_DELIVERY_TIMEOUT": "fast"},
		{"USHER_ALLOW_PRIVATE_DESTINATIONS": "maybe"},
		{"USHER_PASS_TTL": "soon"},
	} {
		_, err := load(t, nil, env)
		for k := range env {
			if err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%v: error %v, want one naming %s", env, err, k)
			}
		}
	}
	for _, env := range []map[string]string{
		{"USHER_DELIVERY_CONNECT_TIMEOUT": "1m", "USHER_DELIVERY_TIMEOUT": "1s"},
		{"USHER_DELIVERY_RETENTION": "1h"},
		{"USHER_PASS_TTL": "2h", "USHER_PASS_MAX_TTL": "1h"},
		{"USHER_PUBLIC_URL": "ftp://x"},
	} {
		cfg, err := load(t, nil, env)
		if err != nil {
			t.Fatalf("%v: %v", env, err)
		}
		if err := cfg.WithDefaults().Validate(); err == nil {
			t.Errorf("%v: Validate accepted it", env)
		}
	}
}
