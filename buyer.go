package usher

import (
	"errors"
	"time"
)

// BuyerTokenPrefix starts every buyer token.
const BuyerTokenPrefix = "byr_"

// ErrErased is in the chain of the error that Buyer returns for a buyer whose
// personal data was erased (its code is CodeNotFound).
var ErrErased = errors.New("personal data erased")

// BuyerRecord is one buyer in the personal-data vault. Buyer is empty once
// ErasedAt is set.
type BuyerRecord struct {
	Token     string
	OrderID   string
	Buyer     Buyer
	CreatedAt time.Time
	ErasedAt  time.Time
}

// Erased reports whether the buyer's personal data was erased.
func (b BuyerRecord) Erased() bool { return !b.ErasedAt.IsZero() }
