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

// Ticket is one admission to one show.
type Ticket struct {
	TicketID   string       `json:"ticket_id"`
	OrderID    string       `json:"order_id"`
	ShowID     string       `json:"show_id"`
	VenueID    string       `json:"venue_id"`
	TicketType string       `json:"ticket_type"`
	Status     TicketStatus `json:"status"`
	Code       string       `json:"code"`
	CreatedAt  time.Time    `json:"created_at"`
	UpdatedAt  time.Time    `json:"updated_at"`
}

// Source is a sender of inbound webhooks: a payment provider, a checkout.
type Source struct {
	Name      string    `json:"name"`
	Scheme    string    `json:"scheme"`
	CreatedAt time.Time `json:"created_at"`
}
