package admin

import "net/http"

// Routes lists every admin route with the scope it needs. A route added here
// without a scope fails TestEveryAdminRouteNeedsItsScope.
func (a *API) Routes() []Route {
	return []Route{
		{http.MethodPost, "/v1/sources", ScopeSourcesWrite, a.handleCreateSource()},
		{http.MethodGet, "/v1/sources", ScopeSourcesRead, a.handleListSources()},
		{http.MethodGet, "/v1/sources/{name}", ScopeSourcesRead, a.handleGetSource()},
		{http.MethodPatch, "/v1/sources/{name}", ScopeSourcesWrite, a.handleUpdateSource()},
		{http.MethodPost, "/v1/sources/{name}/secrets:rotate", ScopeSourcesWrite, a.handleRotateSecret()},
		{http.MethodPut, "/v1/shows/{show_id}/inventory/{ticket_type}", ScopeInventoryWrite, a.handlePutInventory()},
		{http.MethodGet, "/v1/shows/{show_id}/inventory", ScopeInventoryRead, a.handleGetInventory()},
		{http.MethodGet, "/v1/orders/{order_id}", ScopeOrdersRead, a.handleGetOrder()},
		{http.MethodGet, "/v1/tickets/{ticket_id}", ScopeOrdersRead, a.handleGetTicket()},
		{http.MethodPost, "/v1/tokens", ScopeTokensWrite, a.handleCreateToken()},
		{http.MethodGet, "/v1/tokens", ScopeTokensRead, a.handleListTokens()},
		{http.MethodDelete, "/v1/tokens/{id}", ScopeTokensWrite, a.handleRevokeToken()},
	}
}
