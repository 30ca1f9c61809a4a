package usher

import (
	"encoding/json"
	"errors"
	"time"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// Delivery is one outbound event for one subscription.
type Delivery struct {
	ID             int64
	SubscriptionID string
	EventID        string
	EventSeq       int64
	Type           string
	OrderID        string
	VenueID        string
	Status         string
	Attempts       int // every attempt ever made
	WindowAttempts int // attempts since WindowStart; a replay starts a new window
	WindowStart    time.Time
	NextAttemptAt  time.Time
	LastStatus     int
	FirstError     string
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time

	// LeaseToken identifies the claim that holds the delivery.
	LeaseToken string
	// Data and EventTime are the outbound event's, filled by ClaimDeliveries.
	Data      json.RawMessage
	EventTime time.Time
	// TraceParent is the outbound event's trace context, filled by
	// ClaimDeliveries: an attempt continues the trace that caused it.
	TraceParent string
}

// DeliveryAttempt is the record of one HTTP attempt.
type DeliveryAttempt struct {
	ID             int64     `json:"id"`
	DeliveryID     int64     `json:"delivery_id"`
	SubscriptionID string    `json:"subscription_id"`
	EventID        string    `json:"event_id"`
	Attempt        int       `json:"attempt"`
	StatusCode     int       `json:"status_code"`
	LatencyMS      int64     `json:"latency_ms"`
	Error          string    `json:"error"`
	At             time.Time `json:"at"`
}

// ErrLeaseLost is returned when a delivery is settled by a claim that no
// longer holds it (its lease passed and another claim took it, or the
// subscription was deleted). The caller drops its result.
var ErrLeaseLost = errors.New("delivery lease lost")

// AttemptFilter selects delivery attempts; SubscriptionID is required.
type AttemptFilter struct {
	SubscriptionID string
	EventID        string // optional: one event's attempts
	Before         int64  // only attempts with a smaller id (paging); 0: no bound
	Limit          int
}
