package usher

import "time"

// TicketStatus is the lifecycle state of a ticket.
type TicketStatus string

// Ticket statuses.
const (
	TicketValid    TicketStatus = "valid"
	TicketRevoked  TicketStatus = "revoked"
	TicketAdmitted TicketStatus = "admitted"
)

// Why a ticket was revoked: a refund is final, a dispute may be reversed.
const (
	RevokedByRefund     = "refund"
	RevokedByChargeback = "chargeback"
)

// Ticket is one admission to one show.
type Ticket struct {
	TicketID   string       `json:"ticket_id"`
	OrderID    string       `json:"order_id"`
	ShowID     string       `json:"show_id"`
	VenueID    string       `json:"venue_id"`
	TicketType string       `json:"ticket_type"`
	Status     TicketStatus `json:"status"`
	Code       string       `json:"code"`
	// Generation grows on every transfer and reinstatement; codes of older
	// generations are refused.
	Generation int `json:"generation"`
	// RevokedBy is refund or chargeback for a revoked ticket.
	RevokedBy string `json:"revoked_by,omitempty"`
	// UsedBeforeRevocation marks a ticket admitted before it was revoked:
	// evidence in a chargeback dispute.
	UsedBeforeRevocation bool `json:"used_before_revocation,omitempty"`
	// HolderChangedAt is the provider time of the last transfer.
	HolderChangedAt time.Time `json:"holder_changed_at,omitzero"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Source is a sender of inbound webhooks: a payment provider, a checkout,
// with the edge policy that its requests pass before anything else.
type Source struct {
	Name   string `json:"name"`
	Scheme string `json:"scheme"`
	SourcePolicy
	CreatedAt time.Time `json:"created_at"`
}

// SourcePolicy is what the receiver enforces per source. Zero values mean
// "no limit" (rate) or "the default" (body size, tolerance).
type SourcePolicy struct {
	// RatePerSecond and Burst configure a token bucket; 0 disables it.
	RatePerSecond float64 `json:"rate_per_second"`
	Burst         int     `json:"burst"`
	// AllowCIDRs, when not empty, are the only client networks accepted.
	AllowCIDRs []string `json:"allow_cidrs"`
	// MaxBodyBytes overrides the global body limit when positive.
	MaxBodyBytes int64 `json:"max_body_bytes"`
	// ToleranceSeconds overrides the scheme's timestamp tolerance when positive.
	ToleranceSeconds int64 `json:"tolerance_seconds"`
}
