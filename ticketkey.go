package usher

import (
	"errors"
	"time"
)

// Ticket signing key states: the active key signs new codes, retired keys
// only verify.
const (
	TicketKeyActive  = "active"
	TicketKeyRetired = "retired"
)

// TicketKey is an Ed25519 key that signs ticket codes. Private is the
// 32-byte seed, sealed at rest under the context "ticketkey/<id>".
type TicketKey struct {
	ID        int64
	Private   []byte
	Public    []byte
	State     string
	CreatedAt time.Time
}

// ShowSettings is a show's code policy.
type ShowSettings struct {
	ShowID string `json:"show_id"`
	// AllowStaticCodes lets a gate admit the plain ticket code, for devices
	// that cannot show a rotating display code. Default false: only display
	// codes are admitted.
	AllowStaticCodes bool      `json:"allow_static_codes"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// DisplayCodeUse is one acceptance of a display code at a gate.
type DisplayCodeUse struct {
	TicketID   string
	Generation int
	Step       int64
	Nonce      string // the scan's nonce: the same scan again is not a replay
	UsedAt     time.Time
}

// ErrDisplayCodeUsed is returned by UseDisplayCode for a step that another
// scan already used.
var ErrDisplayCodeUsed = errors.New("display code step already used")
