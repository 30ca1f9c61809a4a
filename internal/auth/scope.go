// Package auth is usher's access control: the scopes a token holds, the
// authenticated caller (Principal), the Route type every API lists its
// routes in, the Guard that admits a request to a route, and the
// Authenticator that checks bearer tokens against the store. Every package
// serving routes (admin, delivery, scanner, passes, pii, audit, events)
// depends on auth, never on another API package.
package auth

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// Scopes. A token holds a list of them; "*" holds every scope.
const (
	ScopeAll            = "*"
	ScopeSourcesRead    = "sources:read"
	ScopeSourcesWrite   = "sources:write"
	ScopeInventoryRead  = "inventory:read"
	ScopeInventoryWrite = "inventory:write"
	ScopeOrdersRead     = "orders:read"
	ScopeTokensRead     = "tokens:read"
	ScopeTokensWrite    = "tokens:write"
	ScopeDLQRead        = "dlq:read"
	ScopeDLQReplay      = "dlq:replay"
	ScopeMetricsRead    = "metrics:read"
	ScopeSubsRead       = "subscriptions:read"
	ScopeSubsWrite      = "subscriptions:write"
	ScopePIIRead        = "pii:read"
	ScopePIIErase       = "pii:erase"
	ScopeAuditRead      = "audit:read"
	ScopeTicketsWrite   = "tickets:write"
	// ScopeListen opens a listen stream (GET /v1/listen): a temporary
	// subscription delivered into the stream, without personal data.
	ScopeListen = "listen"
	// ScopeScannerPrefix + venue id reaches one venue's scanner API.
	ScopeScannerPrefix = "scanner:"
	// ScopeScannerAny, as a route's scope, admits a token holding any
	// scanner:<venue> scope; the handler then checks the venue the request
	// names with Principal.Has(ScopeScannerPrefix + venue). It is a marker
	// of routes, never a scope a token holds or a path can name: Has
	// compares scopes literally.
	ScopeScannerAny = "scanner:*"
	// ScopeAnyToken, as a route's scope, admits every valid token: for
	// documents any caller may read, such as the event catalog.
	ScopeAnyToken = "token:any"
)

// KnownScopes lists the fixed scopes a token may be given.
func KnownScopes() []string {
	return []string{ScopeAll, ScopeSourcesRead, ScopeSourcesWrite, ScopeInventoryRead, ScopeInventoryWrite,
		ScopeOrdersRead, ScopeTokensRead, ScopeTokensWrite, ScopeDLQRead, ScopeDLQReplay, ScopeMetricsRead,
		ScopeSubsRead, ScopeSubsWrite, ScopePIIRead, ScopePIIErase, ScopeAuditRead, ScopeTicketsWrite, ScopeListen}
}

// ValidScope reports whether s is a known scope or scanner:<venue>. A venue
// id holds no '*' and no white space, so no token scope reads as a wildcard.
func ValidScope(s string) bool {
	if v, ok := strings.CutPrefix(s, ScopeScannerPrefix); ok {
		return usher.ValidID(v)
	}
	return slices.Contains(KnownScopes(), s)
}

// Principal is an authenticated caller.
type Principal struct {
	TokenID string
	Scopes  []string
	// ExpiresAt is when the caller's token expires, zero for never. A
	// token it creates may not outlive it (MayLast).
	ExpiresAt time.Time
}

// Has reports whether the principal holds scope: "*" holds every scope;
// otherwise the scope must be held exactly. Nothing in scope is a pattern:
// "scanner:*" built from a request path naming venue "*" is held by a "*"
// token only.
func (p Principal) Has(scope string) bool {
	if scope == ScopeAnyToken {
		return true
	}
	return slices.Contains(p.Scopes, ScopeAll) || slices.Contains(p.Scopes, scope)
}

// HasAnyScanner reports whether the principal reaches the scanner API of
// some venue (the routes whose scope is ScopeScannerAny).
func (p Principal) HasAnyScanner() bool {
	return slices.Contains(p.Scopes, ScopeAll) ||
		slices.ContainsFunc(p.Scopes, func(s string) bool { return strings.HasPrefix(s, ScopeScannerPrefix) })
}

// MayGrant reports whether the principal may give a token every one of
// scopes: a token grants only scopes it holds itself, and "*" only when it
// holds "*". It returns the first scope it may not grant.
func (p Principal) MayGrant(scopes []string) (string, bool) {
	for _, s := range scopes {
		if !p.Has(s) {
			return s, false
		}
	}
	return "", true
}

// MayLast reports whether the principal may create a token that expires at
// expires (zero for never): not after its own token expires, so a
// short-lived grant cannot mint itself a longer-lived or permanent copy.
func (p Principal) MayLast(expires time.Time) bool {
	if p.ExpiresAt.IsZero() {
		return true
	}
	return !expires.IsZero() && !expires.After(p.ExpiresAt)
}

type principalKey struct{}

// WithPrincipal returns a context carrying the authenticated caller.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller that Guard authenticated.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
