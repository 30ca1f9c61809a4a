package delivery

import (
	"context"
	"time"

	"github.com/usherhq/usher"
)

// Store is what the lanes, the dispatcher and the API read and write; the SQL
// store implements it (bound to Tx by the wiring, store.Bind), and the
// storetest suite holds it to one behaviour
// on SQLite and PostgreSQL. Lookups of a missing row return a
// usher.CodeNotFound error; SettleDelivery returns usher.ErrLeaseLost when
// the claim no longer holds the delivery.
type Store interface {
	InTx(ctx context.Context, fn func(tx Tx) error) error

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

// Tx is the unit of work of the lanes, the dispatcher and the API: a
// subscription change, a settled attempt or a replay commits with its audit
// record and outbound events, or not at all. Subscription's found is false
// for a missing subscription; SettleDelivery returns usher.ErrLeaseLost when
// the claim no longer holds the delivery.
type Tx interface {
	InsertSubscription(ctx context.Context, s usher.Subscription, key usher.SubscriptionKey) error
	Subscription(ctx context.Context, id string) (usher.Subscription, bool, error)
	UpdateSubscription(ctx context.Context, s usher.Subscription) error
	DisableSubscription(ctx context.Context, id, reason string) (bool, error)
	DeleteSubscription(ctx context.Context, id string) error
	MarkSubscriptionFailing(ctx context.Context, id string, since time.Time) error
	ClearSubscriptionFailing(ctx context.Context, id string) error
	AddSubscriptionKey(ctx context.Context, k usher.SubscriptionKey) error
	ExpireSubscriptionKeys(ctx context.Context, subscriptionID string, until, now time.Time) error

	EnqueueDelivery(ctx context.Context, d usher.Delivery) (bool, error)
	RequeueDelivery(ctx context.Context, d usher.Delivery) (bool, error)
	SettleDelivery(ctx context.Context, d usher.Delivery) error
	InsertDeliveryAttempt(ctx context.Context, a usher.DeliveryAttempt) error
	AdvanceDeliveryCursor(ctx context.Context, name string, seq int64) error

	UpsertDeadLetter(ctx context.Context, d usher.DeadLetter) error
	MarkDeadLetterReplayed(ctx context.Context, id string, at time.Time) error

	AppendOutbox(ctx context.Context, ev usher.OutboundEvent) error
	AppendAudit(ctx context.Context, e usher.AuditEntry) error
	// NoteDeprecatedVersion records that the operator event of a
	// subscription on a deprecated version was raised; false when that
	// subscription and version were noted before.
	NoteDeprecatedVersion(ctx context.Context, subscriptionID, version, eventID string) (bool, error)
}

// ProcessingReplayer re-runs a processing-stage dead letter through the
// processor, idempotently. The processor's owner provides it; without one,
// replaying such an item answers 501.
type ProcessingReplayer interface {
	ReplayProcessing(ctx context.Context, dl usher.DeadLetter) error
}
