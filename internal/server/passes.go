package server

import (
	"fmt"
	"os"

	"github.com/usherhq/usher/internal/passes"
)

// newPassesComponent builds the ticket-code API: signing keys and their
// rotation, rotating display codes, per-show code settings and pass URLs.
// Its GET /passes/{token} is public (the token is the capability), so the
// component also has PublicRoutes. Settings come from USHER_PUBLIC_URL,
// USHER_PASS_TTL and USHER_PASS_MAX_TTL (see passes.ConfigFromEnv) until
// they join Config.
func newPassesComponent(a *App) (component, error) {
	cfg, err := passes.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("passes config: %w", err)
	}
	cfg.Now = a.cfg.Clock
	cfg.Codes = a.Codes() // the keys the processor signs with
	svc, err := passes.New(cfg, a.Store(), a.Logger().With("component", "passes"))
	if err != nil {
		return nil, err
	}
	return svc, nil
}
