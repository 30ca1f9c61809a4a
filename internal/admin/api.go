// Package admin is usher's operator API: sources and their secrets, inventory,
// orders and tickets, tokens. Every route needs a bearer token holding the
// route's scope; routes.go lists each route with its scope, and the server
// guards each with auth.Authenticator.Guard.
package admin

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
)

// Store is what the admin API reads and writes.
type Store interface {
	TokenWriter
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
	log           *slog.Logger
	now           func() time.Time
	sourceChanged func(name string)
}

// NewAPI returns the admin API. sourceChanged is told of every source whose
// secrets changed, so the receiver can drop its cached copy.
func NewAPI(st Store, log *slog.Logger, now func() time.Time, sourceChanged func(string)) *API {
	if sourceChanged == nil {
		sourceChanged = func(string) {}
	}
	return &API{store: st, log: log, now: now, sourceChanged: sourceChanged}
}

// audit appends an audit record of an admin action by the request's caller.
// The action already happened; a failure to record it is logged loudly.
func (a *API) audit(r *http.Request, action, entityType, entityID string, detail any) {
	actor := "admin:unknown"
	if p, ok := auth.PrincipalFrom(r.Context()); ok {
		actor = "token:" + p.TokenID
	}
	err := a.store.AppendAudit(r.Context(), usher.AuditEntry{Actor: actor, Action: action, EntityType: entityType, EntityID: entityID, Detail: detail})
	if err != nil {
		a.log.Error("audit record failed", "action", action, "entity", entityID, "err", err)
	}
}
