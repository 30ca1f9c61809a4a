package admin

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
)

// BootstrapDescription describes the token that --admin-token registers.
const BootstrapDescription = "bootstrap (--admin-token)"

// SystemActor names usher itself on the audit trail, for changes no token made.
const SystemActor = "system"

// BootstrapStore is what RegisterBootstrapToken needs.
type BootstrapStore interface {
	TokenWriter
	AppendAudit(ctx context.Context, e usher.AuditEntry) error
}

// RegisterBootstrapToken makes the --admin-token (USHER_ADMIN_TOKEN) secret
// a stored token holding every scope, listed and revocable like any other.
// It registers a secret only once: a secret already stored keeps what it is.
// A revoked bootstrap token stays revoked although the variable is still
// set, and a token created for the CLI and exported in the same shell as
// `usher serve` keeps its own scopes instead of becoming an every-scope
// token; both are logged as warnings.
func RegisterBootstrapToken(ctx context.Context, st BootstrapStore, secret string, now time.Time, log *slog.Logger) error {
	t, found, err := st.TokenByHash(ctx, auth.HashToken(secret))
	if err != nil {
		return fmt.Errorf("bootstrap token: %w", err)
	}
	if found {
		explainBootstrap(t, now, log)
		return nil
	}
	spec := usher.Token{Scopes: []string{auth.ScopeAll}, Description: BootstrapDescription, CreatedAt: now.UTC()}
	t, err = storeToken(ctx, st, spec, secret)
	if usher.ErrorCode(err) == usher.CodeConflict {
		return nil // another process registered the same secret just now
	}
	if err != nil {
		return fmt.Errorf("bootstrap token: %w", err)
	}
	err = st.AppendAudit(ctx, usher.AuditEntry{Actor: SystemActor, Action: ActionTokenCreated, EntityType: "token", EntityID: t.ID,
		Detail: map[string]any{"scopes": t.Scopes, "description": t.Description}})
	if err != nil {
		return fmt.Errorf("bootstrap token audit: %w", err)
	}
	log.Info("bootstrap admin token registered; list it with `usher token list`, revoke it with `usher token revoke`", "token_id", t.ID)
	return nil
}

// explainBootstrap logs what an --admin-token already stored is.
func explainBootstrap(t usher.Token, now time.Time, log *slog.Logger) {
	switch {
	case !t.RevokedAt.IsZero():
		log.Warn("--admin-token (USHER_ADMIN_TOKEN) names a revoked token: it stays revoked; unset the variable", "token_id", t.ID, "revoked_at", t.RevokedAt)
	case !t.Live(now):
		log.Warn("--admin-token (USHER_ADMIN_TOKEN) names an expired token; unset the variable", "token_id", t.ID, "expired_at", t.ExpiresAt)
	case !slices.Equal(t.Scopes, []string{auth.ScopeAll}):
		log.Warn("--admin-token (USHER_ADMIN_TOKEN) is an existing token with fewer scopes: it keeps them and is not a bootstrap token",
			"token_id", t.ID, "scopes", t.Scopes)
	default:
		log.Info("admin token already registered", "token_id", t.ID, "description", t.Description)
	}
}
