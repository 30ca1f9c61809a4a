package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

// tokenView is a token as GET /v1/tokens lists it.
type tokenView struct {
	ID          string     `json:"id"`
	Scopes      []string   `json:"scopes"`
	Description string     `json:"description"`
	Status      string     `json:"status"`
	ExpiresAt   *time.Time `json:"expires_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

// mint creates a token through the API with the bootstrap token.
func mint(t *testing.T, s *ushertest.Server, body map[string]any) (id, secret string) {
	t.Helper()
	var created struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if status := s.Admin(http.MethodPost, "/v1/tokens", "", body, &created); status != http.StatusCreated || created.Token == "" {
		t.Fatalf("create token %v: %d", body, status)
	}
	return created.ID, created.Token
}

// call sends a bodiless request with a bearer token and returns the status
// and, for an error, the problem code.
func call(t *testing.T, s *ushertest.Server, method, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	status, body := s.Do(req)
	if status < 300 {
		return status, ""
	}
	return status, problemOf(t, body).Code
}

func listTokens(t *testing.T, s *ushertest.Server) map[string]tokenView {
	t.Helper()
	var list struct {
		Tokens []json.RawMessage `json:"tokens"`
	}
	if status := s.Admin(http.MethodGet, "/v1/tokens", "", nil, &list); status != http.StatusOK {
		t.Fatalf("GET /v1/tokens: %d", status)
	}
	out := map[string]tokenView{}
	for _, raw := range list.Tokens {
		for _, secretField := range []string{`"token"`, `"hash"`, `"token_hash"`, "usher_"} {
			if strings.Contains(string(raw), secretField) {
				t.Errorf("listed token %s shows %s", raw, secretField)
			}
		}
		var v tokenView
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		out[v.ID] = v
	}
	return out
}

// Item 7: a token holding tokens:write cannot mint "*" or any scope it lacks.
func TestATokenGrantsOnlyScopesItHolds(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	_, writer := mint(t, s, map[string]any{"scopes": []string{"tokens:write", "scanner:venue-a"}})
	for _, scopes := range [][]string{{"*"}, {"pii:read"}, {"tokens:write", "orders:read"}, {"scanner:venue-b"}} {
		var out map[string]any
		status := s.Admin(http.MethodPost, "/v1/tokens", writer, map[string]any{"scopes": scopes}, &out)
		if status != http.StatusForbidden {
			t.Errorf("tokens:write token minting %v: %d %v, want 403", scopes, status, out)
		}
	}
	var sub struct {
		Token string `json:"token"`
	}
	if status := s.Admin(http.MethodPost, "/v1/tokens", writer, map[string]any{"scopes": []string{"scanner:venue-a"}}, &sub); status != http.StatusCreated {
		t.Fatalf("minting a scope it holds: %d, want 201", status)
	}
	if status, _ := call(t, s, http.MethodGet, "/v1/orders/ord_x/buyer", sub.Token); status != http.StatusForbidden {
		t.Errorf("the minted scanner token reading buyer data: %d, want 403", status)
	}
	// Nor may it revoke a token holding more than it does (the bootstrap one).
	boot := bootstrapToken(t, s)
	if status, code := call(t, s, http.MethodDelete, "/v1/tokens/"+boot.ID, writer); status != http.StatusForbidden || code != "forbidden" {
		t.Errorf("tokens:write token revoking the * token: %d %s, want 403 forbidden", status, code)
	}
	if status, _ := call(t, s, http.MethodGet, "/v1/tokens", ushertest.AdminToken); status != http.StatusOK {
		t.Errorf("the * token after the refused revocation: %d, want 200", status)
	}
}

// A token that expires cannot mint one that outlives it: a short grant
// would otherwise make itself permanent, and revoking it would leave the
// copies alive.
func TestATokenMintsNoTokenThatOutlivesIt(t *testing.T) {
	t.Parallel()
	clock := ushertest.NewClock(time.Now())
	s := ushertest.Start(t, ushertest.WithClock(clock))
	_, short := mint(t, s, map[string]any{"scopes": []string{"tokens:write", "orders:read"}, "expires_in": "1h"})
	for _, req := range []map[string]any{
		{"scopes": []string{"orders:read"}},
		{"scopes": []string{"tokens:write", "orders:read"}, "expires_in": "2h"},
		{"scopes": []string{"orders:read"}, "expires_at": clock.Now().Add(61 * time.Minute)},
	} {
		body, _ := json.Marshal(req)
		r, _ := http.NewRequest(http.MethodPost, s.URL()+"/v1/tokens", bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+short)
		r.Header.Set("Content-Type", "application/json")
		if status, out := s.Do(r); status != http.StatusForbidden || problemOf(t, out).Code != "forbidden" {
			t.Errorf("a token expiring in 1h minting %v: %d %s, want 403 forbidden", req, status, out)
		}
	}
	var sub struct {
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if status := s.Admin(http.MethodPost, "/v1/tokens", short, map[string]any{"scopes": []string{"orders:read"}, "expires_in": "30m"}, &sub); status != http.StatusCreated || sub.ExpiresAt == nil {
		t.Fatalf("minting a token that expires first: %d %+v, want 201 with expires_at", status, sub)
	}
	if status := s.Admin(http.MethodPost, "/v1/tokens", short, map[string]any{"scopes": []string{"orders:read"}, "expires_at": clock.Now().Add(59 * time.Minute)}, &sub); status != http.StatusCreated {
		t.Errorf("minting a token that expires before it (expires_at): %d, want 201", status)
	}
	// A token without an expiry still mints tokens without one.
	_, forever := mint(t, s, map[string]any{"scopes": []string{"tokens:write", "orders:read"}})
	if status := s.Admin(http.MethodPost, "/v1/tokens", forever, map[string]any{"scopes": []string{"orders:read"}}, &sub); status != http.StatusCreated {
		t.Errorf("a token without expiry minting one without: %d, want 201", status)
	}
}

// Item 8: a venue named "*" in a path reaches no venue.
func TestScannerScopeNeverMatchesAWildcardVenue(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	_, scanner := mint(t, s, map[string]any{"scopes": []string{"scanner:venue-a"}})
	if status, _ := call(t, s, http.MethodGet, "/v1/venues/venue-a/health", scanner); status != http.StatusOK {
		t.Fatalf("own venue's health: %d, want 200", status)
	}
	for _, venue := range []string{"*", "%2A"} {
		for _, route := range []string{"feed", "health", "display-key"} {
			path := "/v1/venues/" + venue + "/" + route
			// "*" breaks the identifier grammar, which the guard checks
			// before the scope (400); the scope itself is compared literally
			// as well (admin's TestScopesCompareLiterally).
			if status, code := call(t, s, http.MethodGet, path, scanner); status != http.StatusBadRequest || code != "invalid_request" {
				t.Errorf("scanner:venue-a on %s: %d %s, want 400 invalid_request", path, status, code)
			}
		}
	}
	var out map[string]any
	if status := s.Admin(http.MethodPost, "/v1/tokens", "", map[string]any{"scopes": []string{"scanner:*"}}, &out); status != http.StatusBadRequest {
		t.Errorf("creating a scanner:* token: %d, want 400", status)
	}
}

func bootstrapToken(t *testing.T, s *ushertest.Server) tokenView {
	t.Helper()
	for _, v := range listTokens(t, s) {
		if v.Description == "bootstrap (--admin-token)" {
			return v
		}
	}
	t.Fatal("GET /v1/tokens lists no bootstrap (--admin-token) token")
	return tokenView{}
}

// Item 9: expiry at creation and last-used time, listed without secrets.
func TestTokenExpiresAndRecordsItsLastUse(t *testing.T) {
	t.Parallel()
	clock := ushertest.NewClock(time.Now())
	s := ushertest.Start(t, ushertest.WithClock(clock))
	id, secret := mint(t, s, map[string]any{"scopes": []string{"orders:read"}, "description": "dashboard", "expires_in": "1h"})
	v := listTokens(t, s)[id]
	if v.Status != "active" || v.ExpiresAt == nil || v.LastUsedAt != nil || v.RevokedAt != nil || v.Description != "dashboard" {
		t.Fatalf("new token listed as %+v, want active, expiring, never used", v)
	}
	if got, want := *v.ExpiresAt, clock.Now().Add(time.Hour); got.Sub(want).Abs() > time.Second {
		t.Errorf("expires_at %v, want %v", got, want)
	}
	if status, _ := call(t, s, http.MethodGet, "/v1/tickets/tkt_none", secret); status != http.StatusNotFound {
		t.Fatalf("using the token: %d, want 404 (authorized)", status)
	}
	if v := listTokens(t, s)[id]; v.LastUsedAt == nil {
		t.Errorf("after a use, last_used_at is null: %+v", v)
	}
	clock.Advance(61 * time.Minute)
	if status, code := call(t, s, http.MethodGet, "/v1/tickets/tkt_none", secret); status != http.StatusUnauthorized || code != "unauthorized" {
		t.Errorf("expired token: %d %s, want 401 unauthorized", status, code)
	}
	if v := listTokens(t, s)[id]; v.Status != "expired" {
		t.Errorf("expired token listed as %q", v.Status)
	}
	var out map[string]any
	for _, bad := range []map[string]any{
		{"scopes": []string{"orders:read"}, "expires_in": "-1h"},
		{"scopes": []string{"orders:read"}, "expires_in": "soon"},
		{"scopes": []string{"orders:read"}, "expires_at": clock.Now().Add(-time.Minute)},
	} {
		if status := s.Admin(http.MethodPost, "/v1/tokens", "", bad, &out); status != http.StatusBadRequest {
			t.Errorf("create %v: %d, want 400", bad, status)
		}
	}
}

// Item 9: a revoked token is refused at once, and the change is audited.
func TestRevokedTokenIsRefusedAtOnceAndAudited(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	id, secret := mint(t, s, map[string]any{"scopes": []string{"orders:read"}})
	if status, _ := call(t, s, http.MethodGet, "/v1/tickets/tkt_none", secret); status != http.StatusNotFound {
		t.Fatalf("before revocation: %d, want 404 (authorized)", status)
	}
	var revoked tokenView
	if status := s.Admin(http.MethodDelete, "/v1/tokens/"+id, "", nil, &revoked); status != http.StatusOK || revoked.Status != "revoked" || revoked.RevokedAt == nil {
		t.Fatalf("DELETE /v1/tokens/%s: %d %+v", id, status, revoked)
	}
	if status, code := call(t, s, http.MethodGet, "/v1/tickets/tkt_none", secret); status != http.StatusUnauthorized || code != "unauthorized" {
		t.Errorf("revoked token: %d %s, want 401", status, code)
	}
	if status := s.Admin(http.MethodDelete, "/v1/tokens/"+id, "", nil, nil); status != http.StatusOK {
		t.Errorf("revoking again: %d, want 200", status)
	}
	if status, code := call(t, s, http.MethodDelete, "/v1/tokens/tok_nobody", ushertest.AdminToken); status != http.StatusNotFound || code != "not_found" {
		t.Errorf("revoking an unknown token: %d %s, want 404", status, code)
	}
	recs, err := s.Store().AuditLog(context.Background(), usher.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, r := range recs {
		if r.EntityType == "token" && r.EntityID == id {
			actions[r.Action]++
		}
	}
	if actions["token.created"] != 1 || actions["token.revoked"] != 1 {
		t.Errorf("audit records of %s: %v, want one token.created and one token.revoked", id, actions)
	}
}

// Item 9: the --admin-token is a listed, revocable token; revoked, it stays
// revoked across restarts although still configured; a CLI token exported
// as USHER_ADMIN_TOKEN keeps its own scopes.
func TestBootstrapTokenIsListedAndRevocable(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	boot := bootstrapToken(t, s)
	if len(boot.Scopes) != 1 || boot.Scopes[0] != "*" || boot.Status != "active" {
		t.Fatalf("bootstrap token listed as %+v", boot)
	}
	_, other := mint(t, s, map[string]any{"scopes": []string{"*"}})
	_, cli := mint(t, s, map[string]any{"scopes": []string{"orders:read"}})
	if status, _ := call(t, s, http.MethodDelete, "/v1/tokens/"+boot.ID, other); status != http.StatusOK {
		t.Fatalf("revoking the bootstrap token: %d", status)
	}
	if status, _ := call(t, s, http.MethodGet, "/v1/tokens", ushertest.AdminToken); status != http.StatusUnauthorized {
		t.Errorf("revoked bootstrap token: %d, want 401", status)
	}
	s.Restart() // USHER_ADMIN_TOKEN is still set
	if status, _ := call(t, s, http.MethodGet, "/v1/tokens", ushertest.AdminToken); status != http.StatusUnauthorized {
		t.Errorf("revoked bootstrap token after a restart with it still set: %d, want 401", status)
	}
	s.Restart(ushertest.WithConfig(func(c *server.Config) { c.AdminToken = cli }))
	if status, _ := call(t, s, http.MethodGet, "/v1/tokens", cli); status != http.StatusForbidden {
		t.Errorf("an orders:read token started as --admin-token, on GET /v1/tokens: %d, want 403", status)
	}
	if status, _ := call(t, s, http.MethodGet, "/v1/tickets/tkt_none", cli); status != http.StatusNotFound {
		t.Errorf("that token on its own scope: %d, want 404 (authorized)", status)
	}
}

// Item 9: a revocation through one process is refused by another at once.
func TestRevocationReachesEveryProcessAtOnce(t *testing.T) {
	t.Parallel()
	pgURL := ushertest.PostgresURL(t)
	natsURL, ns := ushertest.NATSURL(t)
	external := ushertest.WithConfig(func(c *server.Config) {
		c.PostgresURL, c.NATSURL, c.NATSNamespace = pgURL, natsURL, ns
		c.MasterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	})
	a := ushertest.Start(t, external)
	b := ushertest.Start(t, external)
	id, secret := mint(t, a, map[string]any{"scopes": []string{"orders:read"}})
	if status, _ := call(t, b, http.MethodGet, "/v1/tickets/tkt_none", secret); status != http.StatusNotFound {
		t.Fatalf("token on the other process: %d, want 404 (authorized)", status)
	}
	if status := a.Admin(http.MethodDelete, "/v1/tokens/"+id, "", nil, nil); status != http.StatusOK {
		t.Fatalf("revoke through a: %d", status)
	}
	if status, _ := call(t, b, http.MethodGet, "/v1/tickets/tkt_none", secret); status != http.StatusUnauthorized {
		t.Errorf("revoked token on the other process, right after: %d, want 401", status)
	}
}

// Item 12: /metrics needs metrics:read on the main listener; MetricsAddr
// serves it without a token.
func TestMetricsNeedAToken(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t, ushertest.WithConfig(func(c *server.Config) { c.MetricsAddr = "127.0.0.1:0" }))
	_, reader := mint(t, s, map[string]any{"scopes": []string{"metrics:read"}})
	_, other := mint(t, s, map[string]any{"scopes": []string{"orders:read"}})
	for _, tc := range []struct {
		token, code string
		want        int
	}{{"", "unauthorized", 401}, {"wrong-token", "unauthorized", 401}, {other, "forbidden", 403}, {reader, "", 200}} {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/metrics", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var d problem.Details
		_ = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want != 200 && (d.Code != tc.code || resp.Header.Get("Content-Type") != "application/problem+json")) {
			t.Errorf("/metrics with %q: %d %s %s, want %d %s problem", tc.token, resp.StatusCode, resp.Header.Get("Content-Type"), d.Code, tc.want, tc.code)
		}
	}
	if s.MetricsAddr() == "" {
		t.Fatal("no metrics listener with MetricsAddr set")
	}
	resp, err := http.Get("http://" + s.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "usher_") {
		t.Errorf("token-free metrics address: %d, want 200 with usher metrics", resp.StatusCode)
	}
	resp, err = http.Get("http://" + s.MetricsAddr() + "/v1/tokens")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the metrics address serving /v1/tokens: %d, want 404", resp.StatusCode)
	}
}
