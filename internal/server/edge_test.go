package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/ushertest"
	"github.com/usherhq/usher/internal/webhook"
)

func signedAt(t *testing.T, s *ushertest.Server, key []byte, ts time.Time, body []byte) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/webhooks/"+s.Source, bytes.NewReader(body))
	scheme, _ := webhook.Lookup("standard-webhooks")
	for k, v := range scheme.Sign(ushertest.NewID(), ts, body, webhook.Secret{Key: key}) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// TestRejectionsNeverReachTheStore sends every kind of bad request, then one
// good one, and checks each answer and that only the good one was processed.
func TestRejectionsNeverReachTheStore(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	good := ushertest.Envelope("order.paid", ushertest.Paid("ord_edge", 1))
	now := time.Now()
	big := bytes.Repeat([]byte("x"), 2<<20)

	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantCode   string
	}{
		{"wrong secret", func() *http.Request { return signedAt(t, s, []byte("not-the-secret-at-all-32-bytes!!"), now, good) }, 401, "invalid_signature"},
		{"no signature", func() *http.Request {
			r := s.SignedRequest(ushertest.NewID(), good)
			r.Header.Del("webhook-signature")
			return r
		}, 401, "invalid_signature"},
		{"tampered body", func() *http.Request {
			r := s.SignedRequest(ushertest.NewID(), good)
			tampered := bytes.Replace(good, []byte(`"quantity":1`), []byte(`"quantity":9`), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(tampered)), int64(len(tampered))
			return r
		}, 401, "invalid_signature"},
		{"stale timestamp", func() *http.Request { return signedAt(t, s, s.Secret.Key, now.Add(-6*time.Minute), good) }, 400, "timestamp_out_of_tolerance"},
		{"future timestamp", func() *http.Request { return signedAt(t, s, s.Secret.Key, now.Add(6*time.Minute), good) }, 400, "timestamp_out_of_tolerance"},
		{"not json", func() *http.Request { return signedAt(t, s, s.Secret.Key, now, []byte("hello")) }, 400, "malformed_envelope"},
		{"envelope without type", func() *http.Request {
			return signedAt(t, s, s.Secret.Key, now, []byte(`{"timestamp":"2026-11-28T12:00:00Z","data":{}}`))
		}, 400, "malformed_envelope"},
		{"unknown source", func() *http.Request {
			r := s.SignedRequest(ushertest.NewID(), good)
			r.URL.Path = "/webhooks/nobody"
			return r
		}, 404, "unknown_source"},
		{"declared body too large", func() *http.Request { return signedAt(t, s, s.Secret.Key, now, big) }, 413, "body_too_large"},
		{"chunked body too large", func() *http.Request {
			r := signedAt(t, s, s.Secret.Key, now, big)
			r.ContentLength, r.Body = -1, io.NopCloser(io.MultiReader(bytes.NewReader(big)))
			return r
		}, 413, "body_too_large"},
		{"wrong content type", func() *http.Request {
			r := s.SignedRequest(ushertest.NewID(), good)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, 415, "unsupported_media_type"},
		{"GET", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, s.URL()+"/webhooks/"+s.Source, nil)
			return r
		}, 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		status, body := s.Do(tt.req())
		var d problem.Details
		if err := json.Unmarshal(body, &d); err != nil {
			t.Errorf("%s: body %q is not a problem: %v", tt.name, body, err)
			continue
		}
		wantType := problem.TypeBase + strings.ReplaceAll(tt.wantCode, "_", "-")
		if status != tt.wantStatus || d.Type != wantType || d.Status != status {
			t.Errorf("%s: got %d %s, want %d %s", tt.name, status, d.Type, tt.wantStatus, wantType)
		}
	}
	mustAccept(t, s, ushertest.NewID(), good)
	counts := waitProcessed(t, s, 1)
	if counts["applied"] != 1 || len(counts) != 1 {
		t.Errorf("processed %v, want exactly the one good event", counts)
	}
}

func TestQueueDownAnswers503(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	s.Queue().Server().Shutdown()
	status, body := s.Send(ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_503", 1)))
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "queue-unavailable") {
		t.Errorf("got %d %s, want 503 queue-unavailable", status, body)
	}
	resp, err := http.Get(s.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz: got %d, want 503", resp.StatusCode)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: got %d, want 200", path, resp.StatusCode)
		}
	}
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_m", 1)))
	waitProcessed(t, s, 1)
	wants := []string{
		`usher_inbound_requests_total{outcome="accepted",source="demo"} 1`,
		`usher_ingest_ack_seconds_count{source="demo"} 1`,
		`usher_processed_events_total{outcome="applied",type="order.paid"} 1`,
		`usher_processing_lag_seconds_count{type="order.paid"} 1`,
		`usher_queue_depth{partition=`,
	}
	// Metrics are recorded right after the commit that waitProcessed sees,
	// and a scrape is not a snapshot across families: wait for all of them.
	var b string
	ushertest.Eventually(t, waitLong, "processing metrics", func() bool {
		b = s.ScrapeMetrics()
		return !slices.ContainsFunc(wants, func(w string) bool { return !strings.Contains(b, w) })
	})
	for _, want := range wants {
		if !strings.Contains(b, want) {
			t.Errorf("metrics lack %q; they have:\n%s", want, grepLines(b, want[:strings.IndexAny(want, "{ ")]))
		}
	}
}

// grepLines returns the lines of body that start with prefix.
func grepLines(body, prefix string) string {
	var out []string
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, prefix) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return strings.Join(out, "\n")
}

// TestEveryAdminRouteNeedsItsScope walks the router's admin routes: each one
// refuses a request without a token (401) and one whose token lacks the
// route's scope (403). A new route without a scope fails here. A venue route
// named with venue "*" refuses a scanner token of another venue (403), and
// /metrics on the main listener is held to the same rules.
var wildcard = regexp.MustCompile(`\{[a-z_]+\.*\}`)

func TestEveryAdminRouteNeedsItsScope(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	var created struct {
		Token string `json:"token"`
	}
	// A token with a scope that no admin route needs (only /metrics).
	if status := s.Admin(http.MethodPost, "/v1/tokens", "", map[string]any{"scopes": []string{"metrics:read"}}, &created); status != 201 {
		t.Fatalf("create token: %d", status)
	}
	var scanner struct {
		Token string `json:"token"`
	}
	if status := s.Admin(http.MethodPost, "/v1/tokens", "", map[string]any{"scopes": []string{"scanner:venue-a"}}, &scanner); status != 201 {
		t.Fatalf("create scanner token: %d", status)
	}
	metricsOnly := []auth.Route{{Method: http.MethodGet, Pattern: "/metrics", Scope: auth.ScopeMetricsRead}}
	routes := s.AdminRoutes()
	if len(routes) == 0 {
		t.Fatal("no admin routes")
	}
	for _, rt := range append(routes, metricsOnly...) {
		if rt.Scope == "" || (!auth.ValidScope(rt.Scope) && rt.Scope != auth.ScopeScannerAny && rt.Scope != auth.ScopeAnyToken && !strings.HasPrefix(rt.Scope, auth.ScopeScannerPrefix+"{")) {
			t.Errorf("%s %s has scope %q", rt.Method, rt.Pattern, rt.Scope)
		}
		path := wildcard.ReplaceAllString(rt.Pattern, "x1")
		lacking := created.Token
		other := 403
		if rt.Scope == auth.ScopeAnyToken { // any valid token reads it: the route answers, not 403
			other = 404
			if !strings.Contains(rt.Pattern, "{") {
				other = 200
			}
		}
		if rt.Scope == auth.ScopeMetricsRead {
			lacking = scanner.Token
		}
		cases := []struct {
			token string
			want  int
		}{{"", 401}, {"Bearer wrong-token", 401}, {"Bearer " + lacking, other}}
		if strings.Contains(rt.Pattern, "{venue_id}") {
			// A venue named "*" is no identifier: refused (400) to every
			// authenticated caller before any scope is resolved, so
			// "scanner:{venue_id}" can never become "scanner:*".
			path = wildcard.ReplaceAllString(strings.ReplaceAll(rt.Pattern, "{venue_id}", "*"), "x1")
			cases[2].want = 400
			cases = append(cases, struct {
				token string
				want  int
			}{"Bearer " + scanner.Token, 400})
		}
		for _, tc := range cases {
			req, _ := http.NewRequest(rt.Method, s.URL()+path, strings.NewReader(`{}`))
			if tc.token != "" {
				req.Header.Set("Authorization", tc.token)
			}
			status, body := s.Do(req)
			if status != tc.want || (status != 200 && !strings.Contains(string(body), problem.TypeBase)) {
				t.Errorf("%s %s with %q: got %d %s, want %d problem", rt.Method, path, tc.token, status, body, tc.want)
			}
		}
	}
}
