package usher

import (
	"encoding/json"
	"time"
)

// DeadLetterRecord is a dead letter with its replay history.
type DeadLetterRecord struct {
	DeadLetter
	// ReplayedAt is when it was last replayed; zero while it is open.
	ReplayedAt time.Time `json:"replayed_at,omitzero"`
	Replays    int       `json:"replays"`
}

// Dead-letter states a filter can ask for.
const (
	DeadLettersOpen     = "open"     // not replayed (the default)
	DeadLettersReplayed = "replayed" // replayed and not failed since
	DeadLettersAll      = "all"
)

// DeadLetterFilter selects dead letters; empty fields do not filter.
type DeadLetterFilter struct {
	Stage          string
	Source         string
	SubscriptionID string
	Type           string
	OrderID        string
	VenueID        string
	Reason         string
	// Error, when set, keeps the dead letters whose first or last error
	// contains it, ignoring case.
	Error  string
	Since  time.Time // created at or after
	Until  time.Time // created before
	State  string    // DeadLettersOpen (default), DeadLettersReplayed or DeadLettersAll
	Cursor string    // from a previous page
	Limit  int
}

// DeadLetter is an event set aside after a permanent failure, with what an
// operator needs to find, understand and replay it.
type DeadLetter struct {
	ID             string          `json:"id"`
	Stage          string          `json:"stage"` // processing or delivery
	Source         string          `json:"source,omitempty"`
	SubscriptionID string          `json:"subscription_id,omitempty"`
	EventID        string          `json:"event_id"`
	Type           string          `json:"type"`
	OrderID        string          `json:"order_id,omitempty"`
	VenueID        string          `json:"venue_id,omitempty"`
	Reason         string          `json:"reason"`
	Attempts       int             `json:"attempts"`
	FirstError     string          `json:"first_error"`
	LastError      string          `json:"last_error"`
	Payload        json.RawMessage `json:"payload"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}
