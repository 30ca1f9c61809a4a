package auth_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/store/enginetest"
)

// guarded serves two guarded routes over real HTTP, backed by a real SQLite
// token store holding one live, one expired and one revoked token. It
// returns the server and the secrets by name.
func guarded(t *testing.T) (*httptest.Server, map[string]string) {
	t.Helper()
	ctx := t.Context()
	db := enginetest.SQLite(t)
	now := time.Date(2026, 6, 1, 20, 0, 0, 0, time.UTC)
	secrets := map[string]string{"scanner": "s-scanner", "expired": "s-expired", "revoked": "s-revoked", "metrics": "s-metrics"}
	for name, scopes := range map[string][]string{"scanner": {"scanner:venue-a"}, "expired": {"*"}, "revoked": {"*"}, "metrics": {"metrics:read"}} {
		tok := usher.Token{ID: "tok_" + name, Hash: auth.HashToken(secrets[name]), Scopes: scopes, CreatedAt: now.Add(-time.Hour)}
		if name == "expired" {
			tok.ExpiresAt = now.Add(-time.Minute)
		}
		if err := db.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
	}
	if _, err := db.RevokeToken(ctx, "tok_revoked", now.Add(-time.Minute)); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	authn := auth.NewAuthenticator(db, func() time.Time { return now }, slog.New(slog.DiscardHandler))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.PrincipalFrom(r.Context())
		_ = json.NewEncoder(w).Encode(p.TokenID)
	})
	mux := http.NewServeMux()
	for _, rt := range []auth.Route{
		{Method: http.MethodGet, Pattern: "/v1/venues/{venue_id}/feed", Scope: auth.ScopeScannerPrefix + "{venue_id}", Handler: ok},
		{Method: http.MethodPost, Pattern: "/v1/scans", Scope: auth.ScopeScannerAny, Handler: ok},
		{Method: http.MethodGet, Pattern: "/metrics", Scope: auth.ScopeMetricsRead, Handler: ok},
	} {
		mux.Handle(rt.Method+" "+rt.Pattern, authn.Guard(rt.Scope, rt.Handler))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, secrets
}

// TestGuardAdmitsOnlyLiveTokensWithTheScope: 401 without a live token, 400
// for a malformed path id, 403 without the route's (resolved) scope, and
// the handler sees the caller.
func TestGuardAdmitsOnlyLiveTokensWithTheScope(t *testing.T) {
	t.Parallel()
	srv, secrets := guarded(t)
	for _, tc := range []struct {
		name, method, path, secret string
		want                       int
	}{
		{"no token", http.MethodGet, "/metrics", "", http.StatusUnauthorized},
		{"unknown token", http.MethodGet, "/metrics", "nope", http.StatusUnauthorized},
		{"expired token", http.MethodGet, "/metrics", secrets["expired"], http.StatusUnauthorized},
		{"revoked token", http.MethodGet, "/metrics", secrets["revoked"], http.StatusUnauthorized},
		{"scope held", http.MethodGet, "/metrics", secrets["metrics"], http.StatusOK},
		{"scope lacking", http.MethodGet, "/metrics", secrets["scanner"], http.StatusForbidden},
		{"own venue", http.MethodGet, "/v1/venues/venue-a/feed", secrets["scanner"], http.StatusOK},
		{"other venue", http.MethodGet, "/v1/venues/venue-b/feed", secrets["scanner"], http.StatusForbidden},
		{"wildcard venue refused by grammar", http.MethodGet, "/v1/venues/*/feed", secrets["scanner"], http.StatusBadRequest},
		{"any scanner scope", http.MethodPost, "/v1/scans", secrets["scanner"], http.StatusOK},
		{"no scanner scope", http.MethodPost, "/v1/scans", secrets["metrics"], http.StatusForbidden},
	} {
		req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.secret != "" {
			req.Header.Set("Authorization", "Bearer "+tc.secret)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %s %s = %d, want %d", tc.name, tc.method, tc.path, resp.StatusCode, tc.want)
		}
		if tc.want >= 400 && resp.Header.Get("Content-Type") != problem.ContentType {
			t.Errorf("%s: content type %q, want a problem", tc.name, resp.Header.Get("Content-Type"))
		}
		if tc.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}
}
