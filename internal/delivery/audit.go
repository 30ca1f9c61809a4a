package delivery

import (
	"context"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
)

// Audit actions of the delivery layer.
const (
	ActionSubscriptionCreated  = "subscription.created"
	ActionSubscriptionUpdated  = "subscription.updated"
	ActionSubscriptionDeleted  = "subscription.deleted"
	ActionSubscriptionPaused   = "subscription.paused"
	ActionSubscriptionResumed  = "subscription.resumed"
	ActionSubscriptionRotated  = "subscription.secret_rotated"
	ActionSubscriptionDisabled = "subscription.disabled"
	ActionSubscriptionReplayed = "subscription.replayed"
	ActionDeadLettersReplayed  = "dead_letters.replayed"
)

// lanesActor is the audit actor of what the lanes decide on their own.
const lanesActor = "delivery"

// actor names who asks: the admin token of the request in ctx, as the
// admin API names it.
func actor(ctx context.Context) string {
	if p, ok := auth.PrincipalFrom(ctx); ok {
		return "token:" + p.TokenID
	}
	return "admin:unknown"
}

// audit appends the record of an operator's action to the audit chain, in
// the transaction of the change. detail must hold no secret and no
// personal data.
func audit(ctx context.Context, tx Tx, action, entityType, entityID string, detail any) error {
	return auditAs(ctx, tx, actor(ctx), action, entityType, entityID, detail)
}

func auditAs(ctx context.Context, tx Tx, who, action, entityType, entityID string, detail any) error {
	return tx.AppendAudit(ctx, usher.AuditEntry{Actor: who, Action: action, EntityType: entityType, EntityID: entityID, Detail: detail})
}
