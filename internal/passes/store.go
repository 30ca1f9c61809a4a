package passes

import (
	"context"
	"time"

	"github.com/usherhq/usher"
)

// Store is what the passes, the code keys and the show settings read and
// write; the SQL store implements it.
type Store interface {
	Ticket(ctx context.Context, ticketID string) (usher.Ticket, error)

	TicketKeys(ctx context.Context) ([]usher.TicketKey, error)
	EnsureTicketKey(ctx context.Context, first usher.TicketKey) (created bool, err error)
	RotateTicketKey(ctx context.Context, next usher.TicketKey) (usher.TicketKey, error)
	CodeSecret(ctx context.Context, name string, candidate []byte) ([]byte, error)

	ShowSettings(ctx context.Context, showID string) (usher.ShowSettings, error)
	PutShowSettings(ctx context.Context, s usher.ShowSettings) (usher.ShowSettings, error)

	RevokePass(ctx context.Context, tokenID string, at time.Time) error
	PassRevoked(ctx context.Context, tokenID string) (bool, error)
	PrunePassRevocations(ctx context.Context, before time.Time) (int64, error)
}
