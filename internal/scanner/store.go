package scanner

import (
	"context"
	"time"

	"github.com/usherhq/usher"
)

// Store is what the gate API reads and writes; the SQL store implements it
// (bound to Tx by the wiring, store.Bind).
type Store interface {
	InTx(ctx context.Context, fn func(tx Tx) error) error

	TicketChanges(ctx context.Context, venueID string, after int64, limit int) ([]usher.TicketChange, error)
	VenueTickets(ctx context.Context, venueID, afterTicketID string, limit int) ([]usher.Ticket, error)
	FeedHead(ctx context.Context, venueID string) (int64, error)
	FeedFloor(ctx context.Context, venueID string) (int64, error)
	FeedState(ctx context.Context, venueID string) (usher.FeedState, error)
	AdvanceFeedDelivered(ctx context.Context, venueID string, seq int64, at time.Time) (prev int64, err error)
	PruneTicketChanges(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Tx is the unit of work of a scan: the decision, the feed entry it causes
// and its outbound events commit together.
type Tx interface {
	PresentedTx

	TicketByCode(ctx context.Context, code string) (usher.Ticket, bool, error)
	TicketByID(ctx context.Context, ticketID string) (usher.Ticket, error)
	UpdateTicket(ctx context.Context, t usher.Ticket, from usher.TicketStatus, fromGeneration int) error
	SwapTicketStatus(ctx context.Context, ticketID string, from, to usher.TicketStatus) error
	RevokedAt(ctx context.Context, venueID, ticketID string) (at time.Time, found bool, err error)

	InsertScan(ctx context.Context, s usher.Scan) (int64, error)
	ScanByNonce(ctx context.Context, venueID, nonce string) (usher.Scan, bool, error)
	SetScanResult(ctx context.Context, id int64, result, reason string) error
	Admission(ctx context.Context, ticketID string) (usher.Admission, bool, error)
	InsertAdmission(ctx context.Context, a usher.Admission) error
	SwapAdmission(ctx context.Context, a usher.Admission, fromScanID int64) error

	AppendTicketChange(ctx context.Context, c usher.TicketChange) (int64, error)
	AppendOutbox(ctx context.Context, ev usher.OutboundEvent) error
}

// PresentedTx is what a PresentedChecker reads and writes inside the scan's
// transaction.
type PresentedTx interface {
	ShowSettings(ctx context.Context, showID string) (usher.ShowSettings, error)
	UseDisplayCode(ctx context.Context, u usher.DisplayCodeUse) error
}
