package usher

import (
	"encoding/json"
	"time"
)

// OutboundEvent is an event for downstream systems, written in the
// transaction of the change that caused it. Its ID is stable: derived from
// the inbound event and the entity, so a re-run produces the same id.
type OutboundEvent struct {
	Seq       int64           `json:"seq"`
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	OrderID   string          `json:"order_id"`
	VenueID   string          `json:"venue_id"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
	// TraceParent is the W3C trace context of the span that wrote the
	// event; its delivery attempts continue that trace. Written, and read
	// back by ClaimDeliveries only.
	TraceParent string `json:"-"`
}

// TicketChange is one entry of a venue's scanner feed.
type TicketChange struct {
	VenueID    string    `json:"-"`
	Seq        int64     `json:"seq"`
	TicketID   string    `json:"ticket_id"`
	ShowID     string    `json:"show_id"`
	Status     string    `json:"status"`
	CodeHash   string    `json:"code_hash"`
	AcceptedAt time.Time `json:"-"`
	ChangedAt  time.Time `json:"changed_at"`
}
