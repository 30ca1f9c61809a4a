package delivery

import (
	"net/http"

	"github.com/usherhq/usher/internal/auth"
)

// Routes lists the delivery API with the scope of each route. A
// subscription with "pii": true also needs auth.ScopePIIRead: it sends
// personal data out (checked by the handlers).
func (s *Service) Routes() []auth.Route {
	return []auth.Route{
		{Method: http.MethodPost, Pattern: "/v1/subscriptions", Scope: auth.ScopeSubsWrite, Handler: s.handleCreateSubscription()},
		{Method: http.MethodGet, Pattern: "/v1/subscriptions", Scope: auth.ScopeSubsRead, Handler: s.handleListSubscriptions()},
		{Method: http.MethodGet, Pattern: "/v1/subscriptions/{id}", Scope: auth.ScopeSubsRead, Handler: s.handleGetSubscription()},
		{Method: http.MethodPatch, Pattern: "/v1/subscriptions/{id}", Scope: auth.ScopeSubsWrite, Handler: s.handlePatchSubscription()},
		{Method: http.MethodDelete, Pattern: "/v1/subscriptions/{id}", Scope: auth.ScopeSubsWrite, Handler: s.handleDeleteSubscription()},
		{Method: http.MethodPost, Pattern: "/v1/subscriptions/{id}/pause", Scope: auth.ScopeSubsWrite, Handler: s.handlePause(false)},
		{Method: http.MethodPost, Pattern: "/v1/subscriptions/{id}/resume", Scope: auth.ScopeSubsWrite, Handler: s.handlePause(true)},
		{Method: http.MethodPost, Pattern: "/v1/subscriptions/{id}/secrets:rotate", Scope: auth.ScopeSubsWrite, Handler: s.handleRotate()},
		{Method: http.MethodGet, Pattern: "/v1/subscriptions/{id}/public-keys", Scope: auth.ScopeSubsRead, Handler: s.handlePublicKeys()},
		{Method: http.MethodGet, Pattern: "/v1/subscriptions/{id}/attempts", Scope: auth.ScopeSubsRead, Handler: s.handleAttempts()},
		{Method: http.MethodPost, Pattern: "/v1/subscriptions/{id}/replay", Scope: auth.ScopeDLQReplay, Handler: s.handleReplaySubscription()},
		{Method: http.MethodGet, Pattern: "/v1/dlq", Scope: auth.ScopeDLQRead, Handler: s.handleListDeadLetters()},
		{Method: http.MethodGet, Pattern: "/v1/dlq/{id}", Scope: auth.ScopeDLQRead, Handler: s.handleGetDeadLetter()},
		{Method: http.MethodPost, Pattern: "/v1/dlq/{id}/replay", Scope: auth.ScopeDLQReplay, Handler: s.handleReplayDeadLetter()},
		{Method: http.MethodPost, Pattern: "/v1/dlq/replay", Scope: auth.ScopeDLQReplay, Handler: s.handleBulkReplay()},
		{Method: http.MethodGet, Pattern: "/v1/listen", Scope: auth.ScopeListen, Handler: s.handleListen()},
	}
}
