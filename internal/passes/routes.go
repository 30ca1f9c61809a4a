package passes

import (
	"net/http"

	"github.com/usherhq/usher/internal/auth"
)

// Routes lists the admin routes with the scope each needs.
func (s *Service) Routes() []auth.Route {
	return []auth.Route{
		{Method: http.MethodGet, Pattern: "/v1/ticket-keys", Scope: auth.ScopeScannerAny, Handler: s.handleListKeys()},
		{Method: http.MethodPost, Pattern: "/v1/ticket-keys:rotate", Scope: auth.ScopeTicketsWrite, Handler: s.handleRotateKey()},
		{Method: http.MethodGet, Pattern: "/v1/venues/{venue_id}/display-key", Scope: auth.ScopeScannerPrefix + "{venue_id}", Handler: s.handleVenueDisplayKey()},
		{Method: http.MethodGet, Pattern: "/v1/tickets/{ticket_id}/display-code", Scope: auth.ScopeOrdersRead, Handler: s.handleDisplayCode()},
		{Method: http.MethodPost, Pattern: "/v1/tickets/{ticket_id}/pass-url", Scope: auth.ScopeOrdersRead, Handler: s.handleCreatePass()},
		{Method: http.MethodDelete, Pattern: "/v1/passes/{token_id}", Scope: auth.ScopeTicketsWrite, Handler: s.handleRevokePass()},
		{Method: http.MethodGet, Pattern: "/v1/shows/{show_id}/settings", Scope: auth.ScopeInventoryRead, Handler: s.handleGetShowSettings()},
		{Method: http.MethodPut, Pattern: "/v1/shows/{show_id}/settings", Scope: auth.ScopeInventoryWrite, Handler: s.handlePutShowSettings()},
	}
}

// PublicRoutes lists the routes served without a bearer token, by mux
// pattern. A pass URL is its own capability: its token is signed, expires
// and can be revoked.
func (s *Service) PublicRoutes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /passes/{token}": s.handlePass(),
	}
}
