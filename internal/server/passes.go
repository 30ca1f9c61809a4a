package server

import (
	"github.com/usherhq/usher/internal/passes"
)

// newPassesComponent builds the ticket-code API: signing keys and their
// rotation, rotating display codes, per-show code settings and pass URLs.
// Its GET /passes/{token} is public (the token is the capability), so the
// component also has PublicRoutes. Its settings are Config.PassesConfig.
func newPassesComponent(a *App) (component, error) {
	svc, err := passes.New(a.Store(), a.cfg.PassesConfig(), passes.Options{
		Logger: a.Logger().With("component", "passes"), Now: a.cfg.Clock,
		Codes: a.Codes(), // the keys the processor signs with
	})
	if err != nil {
		return nil, err
	}
	return svc, nil
}
