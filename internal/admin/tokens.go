package admin

import (
	"net/http"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/problem"
)

// Audit actions of token changes.
const (
	ActionTokenCreated = "token.created"
	ActionTokenRevoked = "token.revoked"
)

// Token states, as listed.
const (
	TokenActive  = "active"
	TokenExpired = "expired"
	TokenRevoked = "revoked"
)

// TokenView is a token's metadata as the API shows it: never the secret
// nor its hash. A null time means never.
type TokenView struct {
	ID          string     `json:"id"`
	Scopes      []string   `json:"scopes"`
	Description string     `json:"description"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

func viewToken(t usher.Token, now time.Time) TokenView {
	opt := func(at time.Time) *time.Time {
		if at.IsZero() {
			return nil
		}
		return &at
	}
	status := TokenActive
	if !t.RevokedAt.IsZero() {
		status = TokenRevoked
	} else if !t.Live(now) {
		status = TokenExpired
	}
	return TokenView{ID: t.ID, Scopes: t.Scopes, Description: t.Description, Status: status, CreatedAt: t.CreatedAt,
		ExpiresAt: opt(t.ExpiresAt), RevokedAt: opt(t.RevokedAt), LastUsedAt: opt(t.LastUsedAt)}
}

type createTokenRequest struct {
	Scopes      []string   `json:"scopes"`
	Description string     `json:"description"`
	ExpiresIn   string     `json:"expires_in"`
	ExpiresAt   *time.Time `json:"expires_at"`
}

// expiry returns when the requested token expires, zero for never.
func (req createTokenRequest) expiry(now time.Time) (time.Time, error) {
	switch {
	case req.ExpiresIn != "" && req.ExpiresAt != nil:
		return time.Time{}, usher.Errorf(usher.CodeInvalid, "give expires_in or expires_at, not both")
	case req.ExpiresIn != "":
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return time.Time{}, usher.Errorf(usher.CodeInvalid, "expires_in %q: a positive duration such as 24h", req.ExpiresIn)
		}
		return now.Add(d), nil
	case req.ExpiresAt != nil:
		if !req.ExpiresAt.After(now) {
			return time.Time{}, usher.Errorf(usher.CodeInvalid, "expires_at %s is not in the future", req.ExpiresAt.Format(time.RFC3339))
		}
		return req.ExpiresAt.UTC(), nil
	}
	return time.Time{}, nil
}

// mayManage refuses a caller that does not hold every scope of scopes: a
// token grants and revokes only what it holds itself ("*" only from "*").
func mayManage(r *http.Request, verb string, scopes []string) error {
	p, _ := auth.PrincipalFrom(r.Context())
	if s, ok := p.MayGrant(scopes); !ok {
		return usher.Errorf(usher.CodeForbidden, "a token may only %s scopes it holds itself; this token lacks %q", verb, s)
	}
	return nil
}

// mayLast refuses a token that would outlive the caller's own: a grant
// that expires cannot mint itself a longer-lived or permanent copy.
func mayLast(r *http.Request, expires time.Time) error {
	p, _ := auth.PrincipalFrom(r.Context())
	if p.MayLast(expires) {
		return nil
	}
	return usher.Errorf(usher.CodeForbidden, "a token may not outlive the token that creates it; this token expires at %s: give expires_at or expires_in at or before then",
		p.ExpiresAt.UTC().Format(time.RFC3339))
}

func (a *API) handleCreateToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req createTokenRequest
		if err := decode(r, &req); err != nil {
			problem.Fail(w, r, err)
			return
		}
		now := a.now().UTC()
		expires, err := req.expiry(now)
		if err == nil {
			err = mayManage(r, "grant", req.Scopes)
		}
		if err == nil {
			err = mayLast(r, expires)
		}
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		t, secret, err := IssueToken(r.Context(), a.store, usher.Token{Scopes: req.Scopes, Description: req.Description, CreatedAt: now, ExpiresAt: expires})
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		a.log.Info("token created", "token_id", t.ID, "scopes", t.Scopes)
		a.audit(r, ActionTokenCreated, "token", t.ID, map[string]any{"scopes": t.Scopes, "description": t.Description, "expires_at": viewToken(t, now).ExpiresAt})
		respond(w, http.StatusCreated, struct {
			TokenView
			Token string `json:"token"`
		}{viewToken(t, now), secret})
	})
}

func (a *API) handleListTokens() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.store.Tokens(r.Context())
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		now := a.now()
		views := make([]TokenView, 0, len(list))
		for _, t := range list {
			views = append(views, viewToken(t, now))
		}
		respond(w, http.StatusOK, map[string]any{"tokens": views})
	})
}

func (a *API) handleRevokeToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		t, err := a.store.TokenByID(r.Context(), id)
		if err == nil {
			err = mayManage(r, "revoke", t.Scopes)
		}
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		now := a.now().UTC()
		wasRevoked := !t.RevokedAt.IsZero()
		if t, err = a.store.RevokeToken(r.Context(), id, now); err != nil {
			problem.Fail(w, r, err)
			return
		}
		if !wasRevoked {
			a.log.Info("token revoked", "token_id", t.ID)
			a.audit(r, ActionTokenRevoked, "token", t.ID, map[string]any{"scopes": t.Scopes, "description": t.Description})
		}
		respond(w, http.StatusOK, viewToken(t, now))
	})
}
