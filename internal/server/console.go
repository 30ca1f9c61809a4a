package server

import (
	"context"
	"net/http"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/console"
	"github.com/usherhq/usher/internal/incident"
)

// newConsoleComponent builds the incident API and the operator console at
// /console/. The console is a public route prefix that does its own
// sign-in with an admin token; it uses the delivery service of this
// process when there is one. Built after the delivery component.
func newConsoleComponent(a *App) (component, error) {
	var lanes console.Lanes
	var replayer incident.Replayer
	for _, c := range a.components {
		if d, ok := c.(*deliveryComponent); ok {
			lanes, replayer = d.svc, d.svc
		}
	}
	inc := incident.New(incidentStore(a.Store()), replayer, a.cfg.Clock)
	con, err := console.New(console.Deps{
		Auth: a.authn, Store: a.Store(), Lanes: lanes, Incidents: inc,
		Gatherer: a.Metrics().Registry, Log: a.Logger().With("component", "console"), Now: a.cfg.Clock,
		TraceURLTemplate: a.cfg.TraceURLTemplate, TrustedProxies: a.trusted,
	})
	if err != nil {
		return nil, err
	}
	return &consoleComponent{con: con, routes: inc.Routes(a.Logger())}, nil
}

type consoleComponent struct {
	con    *console.Console
	routes []auth.Route
}

// Start starts the console's metric sampling.
func (c *consoleComponent) Start(ctx context.Context) error { return c.con.Start(ctx) }

// Stop ends it and any bulk replay still running.
func (c *consoleComponent) Stop() { c.con.Stop() }

// Routes lists the incident API.
func (c *consoleComponent) Routes() []auth.Route { return c.routes }

// PublicRoutes serves the console, which authenticates by itself.
func (c *consoleComponent) PublicRoutes() map[string]http.Handler {
	return map[string]http.Handler{console.Prefix: c.con.Handler()}
}
