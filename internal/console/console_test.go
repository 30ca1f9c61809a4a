package console_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/console"
	"github.com/usherhq/usher/internal/ushertest"
)

// revocable accepts one token until it is revoked.
type revocable struct{ revoked atomic.Bool }

func (a *revocable) Authenticate(r *http.Request) (auth.Principal, error) {
	if r.Header.Get("Authorization") != "Bearer good" || a.revoked.Load() {
		return auth.Principal{}, usher.Errorf(usher.CodeUnauthorized, "unknown token")
	}
	return auth.Principal{TokenID: "tok_good", Scopes: []string{auth.ScopeDLQRead}}, nil
}

func consoleServer(t *testing.T, trusted ...netip.Prefix) (*httptest.Server, *revocable, *http.Client) {
	t.Helper()
	s := ushertest.Start(t)
	auth := &revocable{}
	con, err := console.New(console.Deps{Auth: auth, Store: s.Store(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), TrustedProxies: trusted})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, con.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return srv, auth, c
}

func login(t *testing.T, srv *httptest.Server, c *http.Client, token string) *http.Response {
	t.Helper()
	resp, err := c.PostForm(srv.URL+"/console/login", url.Values{"token": {token}, "next": {"/console/dead-letters"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestConsoleSessionEndsWhenTheTokenIsRevoked: the session cookie is
// HttpOnly and SameSite=Strict and holds no token; a token revoked after
// sign-in loses the session at its next request.
func TestConsoleSessionEndsWhenTheTokenIsRevoked(t *testing.T) {
	t.Parallel()
	srv, auth, c := consoleServer(t)
	if resp := login(t, srv, c, "bad"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "error=1") {
		t.Fatalf("a bad token: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp := login(t, srv, c, "good")
	ck := resp.Header.Get("Set-Cookie")
	if resp.Header.Get("Location") != "/console/dead-letters" || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") || strings.Contains(ck, "good") {
		t.Fatalf("sign-in: %s, cookie %q", resp.Header.Get("Location"), ck)
	}
	page, err := c.Get(srv.URL + "/console/dead-letters")
	if err != nil || page.StatusCode != http.StatusOK {
		t.Fatalf("page after sign-in: %v %v", err, page.Status)
	}
	page.Body.Close()
	csp := page.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	auth.revoked.Store(true)
	page, err = c.Get(srv.URL + "/console/dead-letters")
	if err != nil || page.StatusCode != http.StatusSeeOther || !strings.HasPrefix(page.Header.Get("Location"), "/console/login") {
		t.Fatalf("page after revocation: %v %v %s, want a redirect to sign-in", err, page.Status, page.Header.Get("Location"))
	}
	page.Body.Close()
}

// TestConsoleRefusesCrossSiteAndForeignRedirects: a post from another
// origin is refused before anything happens, and sign-in never redirects
// outside the console.
func TestConsoleRefusesCrossSiteAndForeignRedirects(t *testing.T) {
	t.Parallel()
	srv, _, c := consoleServer(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/console/login", strings.NewReader("token=good"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("cross-origin sign-in: %v %v %s", err, resp.Status, resp.Header.Get("Content-Type"))
	}
	resp.Body.Close()
	for _, next := range []string{"https://evil.example/", "//evil.example/console/", "/v1/dlq"} {
		resp, _ := c.PostForm(srv.URL+"/console/login", url.Values{"token": {"good"}, "next": {next}})
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/console/" {
			t.Errorf("next %q: redirected to %q, want /console/", next, loc)
		}
	}
	if resp := mustGet(t, c, srv.URL+"/console/lanes"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("lanes with dlq:read only: %d, want 403", resp.StatusCode)
	}
}

func mustGet(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestConsoleAnswersUnmatchedRequestsWithProblems: a console path with
// routes for other methods is a 405 problem naming them; a missing static
// file or the static directory itself is a 404 problem, never a listing or
// plain text.
func TestConsoleAnswersUnmatchedRequestsWithProblems(t *testing.T) {
	t.Parallel()
	srv, _, c := consoleServer(t)
	send := func(method, path string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodDelete, "/console/lanes", http.StatusMethodNotAllowed, "GET,HEAD"},
		{http.MethodPut, "/console/login", http.StatusMethodNotAllowed, "GET,HEAD,POST"},
		{http.MethodGet, "/console/nowhere", http.StatusNotFound, ""},
		{http.MethodGet, "/console/static/nope.css", http.StatusNotFound, ""},
		{http.MethodGet, "/console/static/", http.StatusNotFound, ""},
	} {
		resp := send(tc.method, tc.path)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" || strings.Join(resp.Header.Values("Allow"), ",") != tc.allow {
			t.Errorf("%s %s: %d %s Allow %v, want %d problem+json Allow %q", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Values("Allow"), tc.status, tc.allow)
		}
	}
	if resp := send(http.MethodGet, "/console/static/console.css"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /console/static/console.css: %d %s, want 200 text/css", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestConsoleCookieIsSecureBehindATrustedTLSProxy: behind a proxy that
// terminates TLS the session cookie is Secure when the proxy is trusted and
// says https; the header from any other peer changes nothing.
func TestConsoleCookieIsSecureBehindATrustedTLSProxy(t *testing.T) {
	t.Parallel()
	signIn := func(srv *httptest.Server, c *http.Client, proto string) string {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/console/login", strings.NewReader(url.Values{"token": {"good"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Set-Cookie")
	}
	behind, _, c := consoleServer(t, netip.MustParsePrefix("127.0.0.0/8"))
	if ck := signIn(behind, c, "https"); !strings.Contains(ck, "Secure") {
		t.Errorf("trusted proxy, X-Forwarded-Proto https: cookie %q, want Secure", ck)
	}
	if ck := signIn(behind, c, "http"); strings.Contains(ck, "Secure") {
		t.Errorf("trusted proxy, X-Forwarded-Proto http: cookie %q, want it not Secure", ck)
	}
	direct, _, c2 := consoleServer(t)
	if ck := signIn(direct, c2, "https"); strings.Contains(ck, "Secure") || !strings.Contains(ck, "HttpOnly") {
		t.Errorf("an untrusted peer claiming https: cookie %q, want HttpOnly and not Secure", ck)
	}
}
