package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

// Scopes. A token holds a list of them; "*" holds every scope.
const (
	ScopeAll            = "*"
	ScopeSourcesRead    = "sources:read"
	ScopeSourcesWrite   = "sources:write"
	ScopeInventoryRead  = "inventory:read"
	ScopeInventoryWrite = "inventory:write"
	ScopeOrdersRead     = "orders:read"
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
	// ScopeScannerPrefix + venue id reaches one venue's scanner API.
	ScopeScannerPrefix = "scanner:"
	// ScopeScannerAny, as a route's scope, admits a token holding any
	// scanner:<venue> scope; the handler then checks the venue the request
	// names with Principal.Has(ScopeScannerPrefix + venue).
	ScopeScannerAny = "scanner:*"
)

// KnownScopes lists the fixed scopes a token may be given.
func KnownScopes() []string {
	return []string{ScopeAll, ScopeSourcesRead, ScopeSourcesWrite, ScopeInventoryRead, ScopeInventoryWrite,
		ScopeOrdersRead, ScopeTokensWrite, ScopeDLQRead, ScopeDLQReplay, ScopeMetricsRead,
		ScopeSubsRead, ScopeSubsWrite, ScopePIIRead, ScopePIIErase, ScopeAuditRead, ScopeTicketsWrite}
}

// ValidScope reports whether s is a known scope or scanner:<venue>.
func ValidScope(s string) bool {
	if s == ScopeScannerAny {
		return false // a route scope, never a token's
	}
	if v, ok := strings.CutPrefix(s, ScopeScannerPrefix); ok {
		return usher.ValidID(v)
	}
	return slices.Contains(KnownScopes(), s)
}

// Principal is an authenticated caller.
type Principal struct {
	TokenID string
	Scopes  []string
}

// Has reports whether the principal holds scope.
func (p Principal) Has(scope string) bool {
	if slices.Contains(p.Scopes, ScopeAll) || slices.Contains(p.Scopes, scope) {
		return true
	}
	if scope == ScopeScannerAny {
		return slices.ContainsFunc(p.Scopes, func(s string) bool { return strings.HasPrefix(s, ScopeScannerPrefix) })
	}
	return false
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

// TokenStore finds tokens by the hash of their secret.
type TokenStore interface {
	TokenByHash(ctx context.Context, hash string) (store.Token, bool, error)
	CreateToken(ctx context.Context, t store.Token) error
}

// Authenticator checks bearer tokens: the bootstrap token from
// USHER_ADMIN_TOKEN (every scope) or a stored one. Only hashes are kept.
type Authenticator struct {
	tokens    TokenStore
	bootstrap []byte // SHA-256 of the bootstrap token, nil when unset
}

// NewAuthenticator returns an Authenticator; bootstrapToken may be empty.
func NewAuthenticator(tokens TokenStore, bootstrapToken string) *Authenticator {
	a := &Authenticator{tokens: tokens}
	if bootstrapToken != "" {
		sum := sha256.Sum256([]byte(bootstrapToken))
		a.bootstrap = sum[:]
	}
	return a
}

// Authenticate returns the caller of r or a usher.CodeUnauthorized error.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return Principal{}, usher.Errorf(usher.CodeUnauthorized, "an Authorization: Bearer token is required")
	}
	sum := sha256.Sum256([]byte(token))
	if a.bootstrap != nil && subtle.ConstantTimeCompare(sum[:], a.bootstrap) == 1 {
		return Principal{TokenID: "bootstrap", Scopes: []string{ScopeAll}}, nil
	}
	// The lookup is by hash: timing reveals nothing about a stored token.
	t, found, err := a.tokens.TokenByHash(r.Context(), hex.EncodeToString(sum[:]))
	if err != nil {
		return Principal{}, usher.WrapError(usher.CodeUnavailable, err, "token store unavailable")
	}
	if !found {
		return Principal{}, usher.Errorf(usher.CodeUnauthorized, "unknown token")
	}
	return Principal{TokenID: t.ID, Scopes: t.Scopes}, nil
}

// IssueToken creates a token with the given scopes and returns its secret,
// which is shown once and stored only as a hash.
func IssueToken(ctx context.Context, tokens TokenStore, scopes []string, description string, createdAt time.Time) (store.Token, string, error) {
	for _, s := range scopes {
		if !ValidScope(s) {
			return store.Token{}, "", usher.Errorf(usher.CodeInvalid, "unknown scope %q", s)
		}
	}
	if len(scopes) == 0 {
		return store.Token{}, "", usher.Errorf(usher.CodeInvalid, "a token needs at least one scope")
	}
	var raw, id [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return store.Token{}, "", fmt.Errorf("token: %w", err)
	}
	if _, err := rand.Read(id[:8]); err != nil {
		return store.Token{}, "", fmt.Errorf("token id: %w", err)
	}
	secret := "usher_" + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(secret))
	t := store.Token{
		ID: "tok_" + hex.EncodeToString(id[:8]), Hash: hex.EncodeToString(sum[:]),
		Scopes: scopes, Description: description, CreatedAt: createdAt,
	}
	if err := tokens.CreateToken(ctx, t); err != nil {
		return store.Token{}, "", err
	}
	return t, secret, nil
}
