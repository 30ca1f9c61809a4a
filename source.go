package usher

import "time"

// Secret states.
const (
	SecretActive   = "active"
	SecretRetiring = "retiring"
	SecretRetired  = "retired"
)

// SourceSecret is one signing secret of a source as stored.
type SourceSecret struct {
	ID        string
	Source    string
	Secret    []byte
	State     string
	NotAfter  time.Time // end of the grace window of a retiring secret
	CreatedAt time.Time
}
