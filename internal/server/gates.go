package server

import "github.com/usherhq/usher/internal/scanner"

// newGatesComponent builds the scanner API: venue feeds (pages, snapshots,
// Server-Sent Events), online scans, offline batch reconciliation and venue
// health, with its metrics on the process registry.
func newGatesComponent(a *App) (component, error) {
	return scanner.New(scannerStore(a.Store()), scanner.Config{}, scanner.Options{
		Logger: a.Logger(), Registerer: a.Metrics().Registry, Now: a.Config().Clock, Codes: a.Codes(), Presented: a.Codes(),
	})
}
