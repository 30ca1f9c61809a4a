package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// TouchInterval is the granularity of a token's last-used time: a token in
// constant use costs one store write per interval, not one per request.
const TouchInterval = time.Minute

// TokenStore finds tokens by the hash of their secret and stamps their
// last use. It is the only place auth names the stored token record.
type TokenStore interface {
	// TokenByHash returns revoked and expired tokens too; found is false
	// when no token has the hash.
	TokenByHash(ctx context.Context, hash string) (usher.Token, bool, error)
	// TouchToken sets the last-used time unless it is after since.
	TouchToken(ctx context.Context, id string, at, since time.Time) error
}

// Authenticator checks bearer tokens against the store on every request, so
// that a revocation by any process is refused at the next request. Only
// hashes are kept; the bootstrap token (admin.RegisterBootstrapToken) is a
// stored token like any other.
type Authenticator struct {
	tokens TokenStore
	now    func() time.Time
	log    *slog.Logger
}

// NewAuthenticator returns an Authenticator reading tokens and the clock.
func NewAuthenticator(tokens TokenStore, now func() time.Time, log *slog.Logger) *Authenticator {
	return &Authenticator{tokens: tokens, now: now, log: log}
}

// HashToken returns the hex SHA-256 under which a token secret is stored.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the caller of r or a usher.CodeUnauthorized error.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return Principal{}, usher.Errorf(usher.CodeUnauthorized, "an Authorization: Bearer token is required")
	}
	// The lookup is by hash: timing reveals nothing about a stored token.
	t, found, err := a.tokens.TokenByHash(r.Context(), HashToken(token))
	if err != nil {
		return Principal{}, usher.WrapError(usher.CodeUnavailable, err, "token store unavailable")
	}
	now := a.now()
	switch {
	case !found:
		return Principal{}, usher.Errorf(usher.CodeUnauthorized, "unknown token")
	case !t.RevokedAt.IsZero():
		return Principal{}, usher.Errorf(usher.CodeUnauthorized, "token %s was revoked", t.ID)
	case !t.Live(now):
		return Principal{}, usher.Errorf(usher.CodeUnauthorized, "token %s expired", t.ID)
	}
	if now.Sub(t.LastUsedAt) >= TouchInterval {
		// Best effort: a token that cannot be stamped still authenticates.
		if err := a.tokens.TouchToken(r.Context(), t.ID, now.UTC(), now.Add(-TouchInterval)); err != nil {
			a.log.Warn("token last-used time not recorded", "token_id", t.ID, "err", err)
		}
	}
	return Principal{TokenID: t.ID, Scopes: t.Scopes, ExpiresAt: t.ExpiresAt}, nil
}
