package delivery

import (
	"context"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

// Store is what the lanes, the dispatcher and the API read and write;
// *store.DB implements it, and the storetest suite holds it to one behaviour
// on SQLite and PostgreSQL. Lookups of a missing row return a
// usher.CodeNotFound error; SettleDelivery returns usher.ErrLeaseLost when
// the claim no longer holds the delivery.
type Store interface {
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error

	Subscription(ctx context.Context, id string) (usher.Subscription, error)
	Subscriptions(ctx context.Context) ([]usher.Subscription, error)
	SubscriptionKeys(ctx context.Context, subscriptionID string) ([]usher.SubscriptionKey, error)

	OutboxAfter(ctx context.Context, after int64, limit int) ([]usher.OutboundEvent, error)
	OutboxBySeq(ctx context.Context, seqs []int64) ([]usher.OutboundEvent, error)
	OutboxSince(ctx context.Context, since time.Time, after int64, limit int) ([]usher.OutboundEvent, error)
	OutboxEvent(ctx context.Context, id string) (usher.OutboundEvent, error)
	DeliveryCursor(ctx context.Context, name string) (int64, error)

	ClaimDeliveries(ctx context.Context, subscriptionID string, now, leaseUntil time.Time, token string, limit int) ([]usher.Delivery, error)
	ReleaseDelivery(ctx context.Context, id int64, token string) error
	RenewDeliveries(ctx context.Context, ids []int64, token string, leaseUntil time.Time) (int64, error)
	ReleaseLeases(ctx context.Context, prefix string) (int64, error)
	DueSubscriptions(ctx context.Context, now time.Time) ([]string, error)
	PendingDeliveries(ctx context.Context) (map[string]int, error)
	DeliveryAttempts(ctx context.Context, f usher.AttemptFilter) ([]usher.DeliveryAttempt, error)
	PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error)

	SearchDeadLetters(ctx context.Context, f usher.DeadLetterFilter) ([]usher.DeadLetterRecord, string, error)
	DeadLetterByID(ctx context.Context, id string) (usher.DeadLetterRecord, error)
	OpenDeadLetters(ctx context.Context) (map[string]int, error)
}

// ProcessingReplayer re-runs a processing-stage dead letter through the
// processor, idempotently. The processor's owner provides it; without one,
// replaying such an item answers 501.
type ProcessingReplayer interface {
	ReplayProcessing(ctx context.Context, dl usher.DeadLetter) error
}
