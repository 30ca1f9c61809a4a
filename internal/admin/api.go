// Package admin is usher's operator API: sources and their secrets, inventory,
// orders and tickets, tokens. Every route needs a bearer token holding the
// route's scope; routes.go lists each route with its scope.
package admin

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
)

// Store is what the admin API reads and writes.
type Store interface {
	TokenStore
	CreateSource(ctx context.Context, src usher.Source, secrets []usher.SourceSecret) error
	Source(ctx context.Context, name string) (usher.Source, []usher.SourceSecret, error)
	Sources(ctx context.Context) ([]usher.Source, error)
	UpdateSourcePolicy(ctx context.Context, source string, p usher.SourcePolicy) error
	RotateSourceSecret(ctx context.Context, source string, next usher.SourceSecret, notAfter time.Time) error
	PutCapacity(ctx context.Context, showID, ticketType string, capacity int) (usher.Inventory, error)
	ShowInventory(ctx context.Context, showID string) ([]usher.Inventory, error)
	OrderWithTickets(ctx context.Context, orderID string) (usher.Order, error)
	Ticket(ctx context.Context, ticketID string) (usher.Ticket, error)
	AppendAudit(ctx context.Context, e usher.AuditEntry) error
	Tokens(ctx context.Context) ([]usher.Token, error)
	TokenByID(ctx context.Context, id string) (usher.Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) (usher.Token, error)
}

// API serves the admin routes.
type API struct {
	store         Store
	auth          *Authenticator
	log           *slog.Logger
	now           func() time.Time
	sourceChanged func(name string)
}

// NewAPI returns the admin API. sourceChanged is told of every source whose
// secrets changed, so the receiver can drop its cached copy.
func NewAPI(st Store, auth *Authenticator, log *slog.Logger, now func() time.Time, sourceChanged func(string)) *API {
	if sourceChanged == nil {
		sourceChanged = func(string) {}
	}
	return &API{store: st, auth: auth, log: log, now: now, sourceChanged: sourceChanged}
}

// Route is one admin route and the scope it needs. A scope may name a path
// wildcard, as in "scanner:{venue_id}", resolved per request.
type Route struct {
	Method  string
	Pattern string
	Scope   string
	Handler http.Handler
}

// Guard wraps h so that it runs only for a caller holding scope: 401 without
// a valid token, 403 without the scope.
func (a *API) Guard(scope string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.auth.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="usher"`)
			problem.Write(w, r, err)
			return
		}
		if err := validPathIDs(r); err != nil {
			problem.Write(w, r, err)
			return
		}
		need := resolveScope(scope, r)
		allowed := p.Has(need)
		if scope == ScopeScannerAny {
			allowed = p.HasAnyScanner()
		}
		if !allowed {
			problem.Write(w, r, usher.Errorf(usher.CodeForbidden, "this token lacks the scope %q", need))
			return
		}
		h.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// pathIDs are the path wildcards that name an identifier; Guard checks each
// against usher's identifier grammar before the scope, so that no route sees
// a malformed id and "scanner:{venue_id}" never resolves to "scanner:*".
func pathIDs() []string {
	return []string{"order_id", "show_id", "venue_id", "ticket_id", "ticket_type"}
}

// validPathIDs returns a CodeInvalid error naming the first path identifier
// of r that breaks the grammar.
func validPathIDs(r *http.Request) error {
	for _, name := range pathIDs() {
		if v := r.PathValue(name); v != "" {
			if err := usher.ValidateID(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolveScope fills {wildcards} of a route scope from the request path. The
// result is compared literally (Principal.Has): a path naming venue "*"
// needs the scope "scanner:*", which only a "*" token holds.
func resolveScope(scope string, r *http.Request) string {
	open := strings.IndexByte(scope, '{')
	end := strings.IndexByte(scope, '}')
	if open < 0 || end < open {
		return scope
	}
	return scope[:open] + r.PathValue(scope[open+1:end]) + scope[end+1:]
}

// audit appends an audit record of an admin action by the request's caller.
// The action already happened; a failure to record it is logged loudly.
func (a *API) audit(r *http.Request, action, entityType, entityID string, detail any) {
	actor := "admin:unknown"
	if p, ok := PrincipalFrom(r.Context()); ok {
		actor = "token:" + p.TokenID
	}
	err := a.store.AppendAudit(r.Context(), usher.AuditEntry{Actor: actor, Action: action, EntityType: entityType, EntityID: entityID, Detail: detail})
	if err != nil {
		a.log.Error("audit record failed", "action", action, "entity", entityID, "err", err)
	}
}

// handleErr writes err as a problem and logs internal failures once.
func (a *API) handleErr(w http.ResponseWriter, r *http.Request, err error) {
	if problem.Status(usher.ErrorCode(err)) >= 500 {
		a.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	problem.Write(w, r, err)
}
