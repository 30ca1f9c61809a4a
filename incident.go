package usher

import "time"

// Incident states.
const (
	IncidentOpen   = "open"
	IncidentClosed = "closed"
)

// Kinds of what an incident tags, with the form of their ref.
const (
	TagDeadLetter = "dead_letter" // ref: the dead letter id
	TagDelivery   = "delivery"    // ref: subscription_id/event_id
	TagInbound    = "inbound"     // ref: source/event_id
)

// Incident is an operator's name for a stretch of trouble; what happened
// to it (tags, replays, closing) is in the audit log under its id.
type Incident struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Status      string    `json:"status"`
	Summary     string    `json:"summary,omitempty"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
	// Tags counts the tagged items by kind.
	Tags map[string]int `json:"tags"`
}

// IncidentTag is one item an incident covers.
type IncidentTag struct {
	Kind     string    `json:"kind"`
	Ref      string    `json:"ref"`
	TaggedAt time.Time `json:"tagged_at"`
}

// DeliveryRefFilter selects deliveries to tag; SubscriptionID is required.
type DeliveryRefFilter struct {
	SubscriptionID string
	Status         string // pending, delivered or dead; "" any
	OrderID        string
	Since          time.Time // created at or after
	Limit          int
}

// InboundRefFilter selects inbound events to tag; OrderID or Source is
// required.
type InboundRefFilter struct {
	Source  string
	OrderID string
	Outcome string
	Since   time.Time // processed at or after
	Limit   int
}

// DeviceActivity is what a venue's scans tell of one scanner device.
type DeviceActivity struct {
	DeviceID string
	// LastSeen is when usher recorded the device's latest scan.
	LastSeen time.Time
	Scans    int
	// Offline counts the scans the device decided itself and uploaded.
	Offline int
}

// KeyUse is how often a source's senders signed with one key.
type KeyUse struct {
	KeyID    string
	Events   int
	LastUsed time.Time
}
