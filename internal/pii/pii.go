// Package pii serves the personal-data vault to operators: reading a buyer
// needs the pii:read scope and is itself audited; erasing one needs
// pii:erase. The data is sealed in the store (the processor puts it there); everywhere
// else a buyer is its token.
package pii

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/httpjson"
	"github.com/usherhq/usher/internal/problem"
)

// Audit actions of this package.
const (
	ActionRead   = "pii.read"
	ActionErased = "pii.erased"
)

// Store is what the vault routes read and write; the SQL store is one
// (bound to Tx by the wiring).
type Store interface {
	BuyerRecord(ctx context.Context, tokenOrOrderID string) (usher.BuyerRecord, error)
	AppendAudit(ctx context.Context, e usher.AuditEntry) error
	InTx(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the unit of work of an erasure: the buyer's data and the audit
// record of its erasure commit together.
type Tx interface {
	EraseBuyer(ctx context.Context, orderID string) (usher.BuyerRecord, error)
	AppendAudit(ctx context.Context, e usher.AuditEntry) error
}

// API serves the vault routes.
type API struct {
	store Store
	log   *slog.Logger
}

// NewAPI returns the vault API over st; log receives erasures and failures.
func NewAPI(st Store, log *slog.Logger) *API { return &API{store: st, log: log} }

// Routes lists the vault routes with their scopes.
func (a *API) Routes() []auth.Route {
	return []auth.Route{
		{Method: http.MethodGet, Pattern: "/v1/orders/{order_id}/buyer", Scope: auth.ScopePIIRead, Handler: a.handleGet()},
		{Method: http.MethodDelete, Pattern: "/v1/orders/{order_id}/buyer", Scope: auth.ScopePIIErase, Handler: a.handleErase()},
	}
}

// BuyerView is a buyer as the API shows it; an erased buyer has ErasedAt
// and no personal data.
type BuyerView struct {
	OrderID   string     `json:"order_id"`
	Token     string     `json:"token"`
	Email     string     `json:"email,omitempty"`
	Name      string     `json:"name,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ErasedAt  *time.Time `json:"erased_at,omitempty"`
}

func view(rec usher.BuyerRecord) BuyerView {
	v := BuyerView{OrderID: rec.OrderID, Token: rec.Token, Email: rec.Buyer.Email, Name: rec.Buyer.Name, CreatedAt: rec.CreatedAt}
	if rec.Erased() {
		at := rec.ErasedAt
		v.ErasedAt = &at
	}
	return v
}

// handleGet returns the decrypted buyer of an order once the read is on the
// audit log: if it cannot be recorded, nothing is shown.
func (a *API) handleGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := actor(r)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		rec, err := a.store.BuyerRecord(r.Context(), r.PathValue("order_id"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		err = a.store.AppendAudit(r.Context(), usher.AuditEntry{
			Actor: actor, Action: ActionRead, EntityType: "buyer", EntityID: rec.Token, OrderID: rec.OrderID,
			Detail: map[string]any{"fields": []string{"email", "name"}, "erased": rec.Erased()},
		})
		if err != nil {
			problem.Fail(w, r, usher.WrapError(usher.CodeUnavailable, err, "the read could not be audited, so nothing is shown"))
			return
		}
		respond(w, http.StatusOK, view(rec))
	})
}

// handleErase erases the personal data of an order's buyer and records the
// erasure in the same transaction.
func (a *API) handleErase() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := actor(r)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		orderID := r.PathValue("order_id")
		var rec usher.BuyerRecord
		err = a.store.InTx(r.Context(), func(tx Tx) error {
			var err error
			if rec, err = tx.EraseBuyer(r.Context(), orderID); err != nil {
				return err
			}
			return tx.AppendAudit(r.Context(), usher.AuditEntry{
				Actor: actor, Action: ActionErased, EntityType: "buyer", EntityID: rec.Token, OrderID: orderID,
				Detail: map[string]any{"fields": []string{"email", "name"}, "erased_at": rec.ErasedAt},
			})
		})
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		a.log.Info("buyer erased", "order_id", orderID, "actor", actor)
		respond(w, http.StatusOK, view(rec))
	})
}

// actor names the caller on the audit log: its admin token id.
func actor(r *http.Request) (string, error) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok || p.TokenID == "" {
		// Every route here is guarded; a caller without a principal is a wiring bug.
		return "", usher.Errorf(usher.CodeInternal, "no authenticated caller")
	}
	return p.TokenID, nil
}

// respond writes v as JSON with the status; personal data is never cached.
func respond(w http.ResponseWriter, status int, v any) { httpjson.Respond(w, status, v) }
