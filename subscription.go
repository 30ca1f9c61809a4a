package usher

import "time"

// Subscription statuses.
const (
	SubscriptionActive   = "active"   // its lane delivers
	SubscriptionPaused   = "paused"   // deliveries are recorded, not sent
	SubscriptionDisabled = "disabled" // nothing is recorded or sent
)

// Subscription is a downstream endpoint and the events it wants.
type Subscription struct {
	ID          string
	URL         string
	EventTypes  []string
	VenueIDs    []string // empty: every venue
	Description string
	Signing     string // "hmac" (Standard Webhooks v1) or "ed25519" (v1a)
	// RetrySchedule is the delay before each retry; nil uses the global one.
	RetrySchedule  []time.Duration
	PII            bool
	Status         string
	DisabledReason string
	// FailingSince is when the current run of failed attempts began; zero
	// while the endpoint is healthy.
	FailingSince time.Time
	// EventVersion is the dated outbound version its payloads are rendered
	// in (internal/events).
	EventVersion string
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// SubscriptionKey is one signing key of a subscription.
type SubscriptionKey struct {
	ID             string
	SubscriptionID string
	Algorithm      string // "hmac" or "ed25519"
	Secret         []byte // the HMAC key, or the Ed25519 seed
	PublicKey      []byte // Ed25519 only
	// ExpiresAt is zero for a current key and the end of its grace window
	// for a key a rotation replaced.
	ExpiresAt time.Time
	CreatedAt time.Time
}
