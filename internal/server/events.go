package server

import (
	"context"
	"net/http"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/events"
)

// eventsComponent publishes the event catalog: the types usher accepts and
// emits, their versions, schemas and examples. Any valid token may read it.
type eventsComponent struct{ catalog *events.Catalog }

func newEventsComponent(a *App) (component, error) {
	return eventsComponent{catalog: a.catalog}, nil
}

// Start does nothing: the catalog has no background work.
func (eventsComponent) Start(context.Context) error { return nil }

// Stop does nothing.
func (eventsComponent) Stop() {}

// Routes lists the catalog's routes.
func (e eventsComponent) Routes() []auth.Route {
	return []auth.Route{
		{Method: http.MethodGet, Pattern: "/v1/event-types", Scope: auth.ScopeAnyToken, Handler: e.catalog.HandleList()},
		{Method: http.MethodGet, Pattern: "/v1/event-types/{type}", Scope: auth.ScopeAnyToken, Handler: e.catalog.HandleGet()},
	}
}
