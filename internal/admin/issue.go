package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
)

// TokenWriter finds and creates tokens: what issuing a token needs.
type TokenWriter interface {
	auth.TokenStore
	// CreateToken returns a usher.CodeConflict error for a hash or id taken.
	CreateToken(ctx context.Context, t usher.Token) error
}

// IssueToken stores a new token with the scopes, description, creation and
// expiry times of spec and returns it with its secret, which is shown once
// and stored only as a hash.
func IssueToken(ctx context.Context, tokens TokenWriter, spec usher.Token) (usher.Token, string, error) {
	if len(spec.Scopes) == 0 {
		return usher.Token{}, "", usher.Errorf(usher.CodeInvalid, "a token needs at least one scope")
	}
	for _, s := range spec.Scopes {
		if !auth.ValidScope(s) {
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
func storeToken(ctx context.Context, tokens TokenWriter, spec usher.Token, secret string) (usher.Token, error) {
	spec.ID, spec.Hash = usher.NewID("tok_"), auth.HashToken(secret)
	if err := tokens.CreateToken(ctx, spec); err != nil {
		return usher.Token{}, err
	}
	return spec, nil
}
