package usher

import "time"

// Token is an admin bearer token as stored: only the SHA-256 of the token.
// The zero time in ExpiresAt, RevokedAt or LastUsedAt means never.
type Token struct {
	ID          string    `json:"id"`
	Hash        string    `json:"-"`
	Scopes      []string  `json:"scopes"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"-"`
	RevokedAt   time.Time `json:"-"`
	LastUsedAt  time.Time `json:"-"`
}

// Live reports whether the token may be used at now: not revoked, not expired.
func (t Token) Live(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}
