package webhook_test

import (
	"slices"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/webhook"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		wantOK bool
	}{
		{webhook.SchemeStandardWebhooks, true},
		{webhook.SchemeStripe, true},
		{"svix", false},
		{"", false},
		{"Stripe", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, ok := webhook.Lookup(tt.name)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.name, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if got := s.Name(); got != tt.name {
				t.Errorf("Name() = %q, want %q", got, tt.name)
			}
			if got := s.DefaultTolerance(); got != 5*time.Minute {
				t.Errorf("DefaultTolerance() = %v, want 5m", got)
			}
		})
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	got := webhook.Names()
	want := []string{"standard-webhooks", "stripe"}
	if !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if again := webhook.Names(); !slices.Equal(again, want) {
		t.Errorf("Names() after changing a result = %q, want %q", again, want)
	}
}
