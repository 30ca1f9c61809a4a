package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/ushertest"
)

// adminRequest sends body to path with the admin token as JSON and returns
// the status, the problem's code ("" for a success), the headers and the
// body.
func adminRequest(t *testing.T, s *ushertest.Server, method, path, body string) (int, string, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ushertest.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode < 300 {
		return resp.StatusCode, "", resp.Header, string(raw)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s %s: %d with Content-Type %q, want application/problem+json", method, path, resp.StatusCode, ct)
	}
	return resp.StatusCode, problemOf(t, raw).Code, resp.Header, string(raw)
}

// The admin API's JSON bodies: a body over the limit is a 413 (not a
// misleading "unexpected EOF"), data after the value is refused however far
// it trails, and a value of the wrong type is described in the API's terms.
func TestAdminBodiesAreJudgedWhole(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	big := `{"title":"` + strings.Repeat("x", 2<<20) + `"}`
	if status, code, _, _ := adminRequest(t, s, http.MethodPost, "/v1/incidents", big); status != http.StatusRequestEntityTooLarge || code != "body_too_large" {
		t.Errorf("a 2 MiB incident: %d %s, want 413 body_too_large", status, code)
	}
	trailing := `{"title":"trail-test"}` + strings.Repeat(" ", 64<<10) + `garbage`
	if status, code, _, _ := adminRequest(t, s, http.MethodPost, "/v1/incidents", trailing); status != http.StatusBadRequest || code != "invalid_request" {
		t.Errorf("an incident with data trailing after 64 KiB of spaces: %d %s, want 400 invalid_request", status, code)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/v1/incidents", strings.NewReader(`{"title":"typed as text"}`))
	req.Header.Set("Authorization", "Bearer "+ushertest.AdminToken)
	req.Header.Set("Content-Type", "text/plain")
	if status, raw := s.Do(req); status != http.StatusUnsupportedMediaType || problemOf(t, raw).Code != "unsupported_media_type" {
		t.Errorf("an incident sent as text/plain: %d %s, want 415 unsupported_media_type", status, raw)
	}
	status, code, _, body := adminRequest(t, s, http.MethodPut, "/v1/shows/demo-show/inventory/GA", `{"capacity":1e20}`)
	if status != http.StatusBadRequest || code != "invalid_request" || strings.Contains(body, "Go struct") || !strings.Contains(body, `field \"capacity\"`) {
		t.Errorf("capacity 1e20: %d %s %s, want 400 invalid_request naming the field, not Go's types", status, code, body)
	}
}

// A query string that does not parse is refused, not read as if the pairs
// it could not decode were absent; 405 answers list HEAD beside GET.
func TestMalformedQueriesAreRefused(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	for _, path := range []string{"/v1/audit?limit=%zz", "/v1/dlq?state=bogus;x=1", "/v1/dlq?cursor=%%%"} {
		if status, code, _, _ := adminRequest(t, s, http.MethodGet, path, ""); status != http.StatusBadRequest || code != "invalid_request" {
			t.Errorf("GET %s: %d %s, want 400 invalid_request", path, status, code)
		}
	}
	if status, _, _, _ := adminRequest(t, s, http.MethodGet, "/v1/audit?limit=5", ""); status != http.StatusOK {
		t.Errorf("GET /v1/audit?limit=5: %d, want 200", status)
	}
	status, code, h, _ := adminRequest(t, s, http.MethodPut, "/healthz", "")
	if status != http.StatusMethodNotAllowed || code != "method_not_allowed" || strings.Join(h.Values("Allow"), ",") != "GET,HEAD" {
		t.Errorf("PUT /healthz: %d %s Allow %v, want 405 method_not_allowed with Allow GET, HEAD", status, code, h.Values("Allow"))
	}
}

// PATCH of a source's policy is a merge: a field the body leaves out keeps
// its value, so changing the rate never silently drops the allowlist.
func TestSourcePatchKeepsWhatItLeavesOut(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	path := "/v1/sources/" + s.Source
	if status, code, _, body := adminRequest(t, s, http.MethodPatch, path,
		`{"allow_cidrs":["10.0.0.0/8"],"max_body_bytes":2048,"burst":20,"tolerance_seconds":600}`); status != http.StatusOK {
		t.Fatalf("set the policy: %d %s %s", status, code, body)
	}
	status, code, _, body := adminRequest(t, s, http.MethodPatch, path, `{"rate_per_second":5}`)
	if status != http.StatusOK {
		t.Fatalf("patch the rate: %d %s %s", status, code, body)
	}
	var got struct {
		RatePerSecond    float64  `json:"rate_per_second"`
		Burst            int      `json:"burst"`
		AllowCIDRs       []string `json:"allow_cidrs"`
		MaxBodyBytes     int64    `json:"max_body_bytes"`
		ToleranceSeconds int      `json:"tolerance_seconds"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.RatePerSecond != 5 || got.Burst != 20 || strings.Join(got.AllowCIDRs, ",") != "10.0.0.0/8" || got.MaxBodyBytes != 2048 || got.ToleranceSeconds != 600 {
		t.Errorf("after PATCH {rate_per_second: 5}: %+v, want the rate changed and the rest kept", got)
	}
	if status, code, _, _ := adminRequest(t, s, http.MethodPatch, "/v1/sources/nobody", `{"rate_per_second":5}`); status != http.StatusNotFound || code != "not_found" {
		t.Errorf("PATCH of an unknown source: %d %s, want 404 not_found", status, code)
	}
}
