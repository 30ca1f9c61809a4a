package usher

import (
	"errors"
	"fmt"
)

// ErrRejected marks an error of a transaction that the engine will refuse
// the same way on every attempt (the store's Dialect.Rejected): retrying it cannot
// help, so the processor sets the event that caused it aside. It wraps
// ErrPermanent.
var ErrRejected = fmt.Errorf("store rejected a value: %w", ErrPermanent)

// ErrConflict is returned by a compare-and-swap that found another version;
// the store's InTx retries the transaction on it.
var ErrConflict = errors.New("concurrent update")
