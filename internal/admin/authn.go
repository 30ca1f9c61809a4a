package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// TouchInterval is the granularity of a token's last-used time: a token in
// constant use costs one store write per interval, not one per request.
const TouchInterval = time.Minute

// TokenStore finds tokens by the hash of their secret and keeps them.
type TokenStore interface {
	// TokenByHash returns revoked and expired tokens too; found is false
	// when no token has the hash.
	TokenByHash(ctx context.Context, hash string) (usher.Token, bool, error)
	// CreateToken returns a usher.CodeConflict error for a hash or id taken.
	CreateToken(ctx context.Context, t usher.Token) error
	// TouchToken sets the last-used time unless it is after since.
	TouchToken(ctx context.Context, id string, at, since time.Time) error
}

// Authenticator checks bearer tokens against the store on every request, so
// that a revocation by any process is refused at the next request. Only
// hashes are kept; the bootstrap token (RegisterBootstrapToken) is a stored
// token like any other.
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
	return Principal{TokenID: t.ID, Scopes: t.Scopes}, nil
}

// IssueToken stores a new token with the scopes, description, creation and
// expiry times of spec and returns it with its secret, which is shown once
// and stored only as a hash.
func IssueToken(ctx context.Context, tokens TokenStore, spec usher.Token) (usher.Token, string, error) {
	if len(spec.Scopes) == 0 {
		return usher.Token{}, "", usher.Errorf(usher.CodeInvalid, "a token needs at least one scope")
	}
	for _, s := range spec.Scopes {
		if !ValidScope(s) {
			return usher.Token{}, "", usher.Errorf(usher.CodeInvalid, "unknown scope %q", s)
		}
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return usher.Token{}, "", fmt.Errorf("token: %w", err)
	}
	secret := "usher_" + base64.RawURLEncoding.EncodeToString(raw[:])
	t, err := storeToken(ctx, tokens, spec, secret)
	return t, secret, err
}

// storeToken stores spec under a new id and the hash of secret.
func storeToken(ctx context.Context, tokens TokenStore, spec usher.Token, secret string) (usher.Token, error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return usher.Token{}, fmt.Errorf("token id: %w", err)
	}
	spec.ID, spec.Hash = "tok_"+hex.EncodeToString(id[:]), HashToken(secret)
	if err := tokens.CreateToken(ctx, spec); err != nil {
		return usher.Token{}, err
	}
	return spec, nil
}
