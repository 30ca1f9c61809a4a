package server

import (
	"context"

	"github.com/usherhq/usher/internal/auth"
)

// component is an optional part of usher with background work and admin
// routes of its own: the delivery lanes, the scanner API. Each is built from
// the App's shared parts by a constructor in its own file here.
type component interface {
	// Start begins the component's background work; it returns at once.
	Start(ctx context.Context) error
	// Stop ends the background work and waits for it.
	Stop()
	// Routes lists the component's routes with their scopes.
	Routes() []auth.Route
}

// componentConstructors lists the components in start order. A constructor
// returns a nil component when its part is switched off.
func componentConstructors() []func(a *App) (component, error) {
	return []func(a *App) (component, error){
		newDeliveryComponent,
		newGatesComponent,
		newPassesComponent,
		newAuditComponent,
		newEventsComponent,
		newConsoleComponent,
	}
}
