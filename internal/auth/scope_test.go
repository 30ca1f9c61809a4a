package auth_test

import (
	"testing"

	"github.com/usherhq/usher/internal/auth"
)

// TestScopesCompareLiterally: a path-derived scope is never a pattern; only
// "*" holds every scope, and no token scope reads as a wildcard.
func TestScopesCompareLiterally(t *testing.T) {
	t.Parallel()
	scanner := auth.Principal{TokenID: "tok_s", Scopes: []string{"scanner:venue-a"}}
	all := auth.Principal{TokenID: "tok_a", Scopes: []string{"*"}}
	writer := auth.Principal{TokenID: "tok_w", Scopes: []string{"tokens:write"}}
	for _, tc := range []struct {
		p     auth.Principal
		scope string
		want  bool
	}{
		{scanner, "scanner:venue-a", true},
		{scanner, "scanner:venue-b", false},
		{scanner, "scanner:*", false},
		{scanner, "scanner:", false},
		{all, "scanner:*", true},
		{all, "*", true},
		{writer, "*", false},
		{writer, "tokens:write", true},
	} {
		if got := tc.p.Has(tc.scope); got != tc.want {
			t.Errorf("%v.Has(%q) = %v, want %v", tc.p.Scopes, tc.scope, got, tc.want)
		}
	}
	for _, s := range []string{"scanner:*", "scanner:venue*", "scanner:", "scanner:{venue_id}", "scanner:a b"} {
		if auth.ValidScope(s) {
			t.Errorf("ValidScope(%q) = true, want false", s)
		}
	}
	for _, s := range []string{"scanner:venue-a", "metrics:read", "tokens:read", "*"} {
		if !auth.ValidScope(s) {
			t.Errorf("ValidScope(%q) = false, want true", s)
		}
	}
}

// TestMayGrantOnlyHeldScopes: "*" is granted only by "*".
func TestMayGrantOnlyHeldScopes(t *testing.T) {
	t.Parallel()
	writer := auth.Principal{Scopes: []string{"tokens:write", "scanner:venue-a"}}
	if s, ok := writer.MayGrant([]string{"scanner:venue-a", "*"}); ok || s != "*" {
		t.Errorf("MayGrant(*) by a tokens:write token = %q, %v; want refused at *", s, ok)
	}
	if _, ok := writer.MayGrant([]string{"tokens:write", "scanner:venue-a"}); !ok {
		t.Error("MayGrant of held scopes refused")
	}
	if _, ok := (auth.Principal{Scopes: []string{"*"}}).MayGrant([]string{"*", "pii:read"}); !ok {
		t.Error("a * token may not grant *")
	}
}
