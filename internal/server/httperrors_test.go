package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/ushertest"
)

// TestHTTPErrorsAreCountedByCode: every problem response, from the guard,
// a handler or an unmatched route, is counted by code in
// usher_http_errors_total on /metrics.
func TestHTTPErrorsAreCountedByCode(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	for range 2 {
		if status := s.Admin(http.MethodGet, "/v1/sources", "not-a-token", nil, nil); status != http.StatusUnauthorized {
			t.Fatalf("unknown token: %d, want 401", status)
		}
	}
	if status := s.Admin(http.MethodGet, "/v1/orders/ord_missing", "", nil, nil); status != http.StatusNotFound {
		t.Fatalf("missing order: %d, want 404", status)
	}
	if status := s.Admin(http.MethodGet, "/v1/no-such-route", "", nil, nil); status != http.StatusNotFound {
		t.Fatalf("unmatched route: %d, want 404", status)
	}
	body := s.ScrapeMetrics()
	for _, want := range []string{`usher_http_errors_total{code="unauthorized"} 2`, `usher_http_errors_total{code="not_found"} 2`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(body, "usher_http_errors_total"))
		}
	}
}
