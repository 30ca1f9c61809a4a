package server

import (
	"context"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/pii"
)

// newAuditComponent serves the audit log (GET /v1/audit) and the
// personal-data vault (GET and DELETE /v1/orders/{order_id}/buyer). It has no
// background work: the records are written by the transactions they record.
func newAuditComponent(a *App) (component, error) {
	routes := audit.NewAPI(a.Store(), a.Logger()).Routes()
	routes = append(routes, pii.NewAPI(piiStore(a.Store()), a.Logger()).Routes()...)
	return auditComponent(routes), nil
}

type auditComponent []auth.Route

func (auditComponent) Start(context.Context) error { return nil }

func (auditComponent) Stop() {}

func (c auditComponent) Routes() []auth.Route { return c }
