package admin

import (
	"net/http"

	"github.com/usherhq/usher/internal/auth"
)

// Routes lists every admin route with the scope it needs. A route added here
// without a scope fails TestEveryAdminRouteNeedsItsScope.
func (a *API) Routes() []auth.Route {
	return []auth.Route{
		{Method: http.MethodPost, Pattern: "/v1/sources", Scope: auth.ScopeSourcesWrite, Handler: a.handleCreateSource()},
		{Method: http.MethodGet, Pattern: "/v1/sources", Scope: auth.ScopeSourcesRead, Handler: a.handleListSources()},
		{Method: http.MethodGet, Pattern: "/v1/sources/{name}", Scope: auth.ScopeSourcesRead, Handler: a.handleGetSource()},
		{Method: http.MethodPatch, Pattern: "/v1/sources/{name}", Scope: auth.ScopeSourcesWrite, Handler: a.handleUpdateSource()},
		{Method: http.MethodPost, Pattern: "/v1/sources/{name}/secrets:rotate", Scope: auth.ScopeSourcesWrite, Handler: a.handleRotateSecret()},
		{Method: http.MethodPut, Pattern: "/v1/shows/{show_id}/inventory/{ticket_type}", Scope: auth.ScopeInventoryWrite, Handler: a.handlePutInventory()},
		{Method: http.MethodGet, Pattern: "/v1/shows/{show_id}/inventory", Scope: auth.ScopeInventoryRead, Handler: a.handleGetInventory()},
		{Method: http.MethodGet, Pattern: "/v1/orders/{order_id}", Scope: auth.ScopeOrdersRead, Handler: a.handleGetOrder()},
		{Method: http.MethodGet, Pattern: "/v1/tickets/{ticket_id}", Scope: auth.ScopeOrdersRead, Handler: a.handleGetTicket()},
		{Method: http.MethodPost, Pattern: "/v1/tokens", Scope: auth.ScopeTokensWrite, Handler: a.handleCreateToken()},
		{Method: http.MethodGet, Pattern: "/v1/tokens", Scope: auth.ScopeTokensRead, Handler: a.handleListTokens()},
		{Method: http.MethodDelete, Pattern: "/v1/tokens/{id}", Scope: auth.ScopeTokensWrite, Handler: a.handleRevokeToken()},
	}
}
