package delivery

import (
	"net/http"

	"github.com/usherhq/usher/internal/admin"
)

// Scopes of the delivery routes. A subscription with "pii": true also needs
// admin.ScopePIIRead: it sends personal data out.
const (
	ScopeSubscriptionsRead  = admin.ScopeSubsRead
	ScopeSubscriptionsWrite = admin.ScopeSubsWrite
	ScopeDLQRead            = admin.ScopeDLQRead
	ScopeDLQReplay          = admin.ScopeDLQReplay
)

// DLQListPath is where the dead-letter search is served.
const DLQListPath = "/v1/dlq"

// Routes lists the delivery API with the scope of each route. dlqList is
// the path of the dead-letter search, normally DLQListPath.
func (s *Service) Routes(dlqList string) []admin.Route {
	return []admin.Route{
		{Method: http.MethodPost, Pattern: "/v1/subscriptions", Scope: ScopeSubscriptionsWrite, Handler: s.handleCreateSubscription()},
		{Method: http.MethodGet, Pattern: "/v1/subscriptions", Scope: ScopeSubscriptionsRead, Handler: s.handleListSubscriptions()},
		{Method: http.MethodGet, Pattern: "/v1/subscriptions/{id}", Scope: ScopeSubscriptionsRead, Handler: s.handleGetSubscription()},
		{Method: http.MethodPatch, Pattern: "/v1/subscriptions/{id}", Scope: ScopeSubscriptionsWrite, Handler: s.handlePatchSubscription()},
		{Method: http.MethodDelete, Pattern: "/v1/subscriptions/{id}", Scope: ScopeSubscriptionsWrite, Handler: s.handleDeleteSubscription()},
		{Method: http.MethodPost, Pattern: "/v1/subscriptions/{id}/pause", Scope: ScopeSubscriptionsWrite, Handler: s.handlePause(false)},
		{Method: http.MethodPost, Pattern: "/v1/subscriptions/{id}/resume", Scope: ScopeSubscriptionsWrite, Handler: s.handlePause(true)},
		{Method: http.MethodPost, Pattern: "/v1/subscriptions/{id}/secrets:rotate", Scope: ScopeSubscriptionsWrite, Handler: s.handleRotate()},
		{Method: http.MethodGet, Pattern: "/v1/subscriptions/{id}/public-keys", Scope: ScopeSubscriptionsRead, Handler: s.handlePublicKeys()},
		{Method: http.MethodGet, Pattern: "/v1/subscriptions/{id}/attempts", Scope: ScopeSubscriptionsRead, Handler: s.handleAttempts()},
		{Method: http.MethodPost, Pattern: "/v1/subscriptions/{id}/replay", Scope: ScopeDLQReplay, Handler: s.handleReplaySubscription()},
		{Method: http.MethodGet, Pattern: dlqList, Scope: ScopeDLQRead, Handler: s.handleListDeadLetters()},
		{Method: http.MethodGet, Pattern: "/v1/dlq/{id}", Scope: ScopeDLQRead, Handler: s.handleGetDeadLetter()},
		{Method: http.MethodPost, Pattern: "/v1/dlq/{id}/replay", Scope: ScopeDLQReplay, Handler: s.handleReplayDeadLetter()},
		{Method: http.MethodPost, Pattern: "/v1/dlq/replay", Scope: ScopeDLQReplay, Handler: s.handleBulkReplay()},
	}
}
