package ushertest

import (
	"sync"
	"time"

	"github.com/usherhq/usher/internal/server"
)

// Clock is a controllable clock for tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// WithClock runs usher on the clock.
func WithClock(c *Clock) Option { return func(cfg *server.Config) { cfg.Clock = c.Now } }
