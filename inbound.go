package usher

import "time"

// Outcomes of an inbound event, kept on its dedupe record.
const (
	OutcomeApplied  = "applied"   // its effects were committed
	OutcomeIgnored  = "ignored"   // recorded, no effect (unknown type, stale)
	OutcomeSetAside = "set_aside" // permanent failure, kept in the dead-letter store
)

// InboundRecord is the dedupe record of one inbound event.
type InboundRecord struct {
	Source      string
	EventID     string
	PayloadHash string
	Type        string
	OrderID     string
	KeyID       string
	Outcome     string
	Reason      string
	Data        []byte
	EventAt     time.Time
	ReceivedAt  time.Time
	ProcessedAt time.Time
	// TraceID is the W3C trace id of the event's receive span, "" when
	// tracing was off as it arrived.
	TraceID string
}
