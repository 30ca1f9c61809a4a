package drill

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Config is one run of the venue-outage drill. Each field says its default.
type Config struct {
	// Venues is how many venues stay online beside the outage venue and its
	// twin. Default 2.
	Venues int
	// Scanners per venue. Default 3.
	Scanners int
	// Orders per venue, of 1 to 3 tickets each. Default 150.
	Orders int
	// Presale is the share of orders paid before the doors open. Default 0.7.
	Presale float64
	// RefundRatio is the share of orders refunded. Default 0.1.
	RefundRatio float64
	// DuplicateRatio is the share of holders whose code is presented again
	// at another gate. Default 0.05.
	DuplicateRatio float64
	// Doors is the simulated time the doors are open. Default 45m.
	Doors time.Duration
	// OutageStart is when, after the doors open, the outage begins, and
	// Outage how long it lasts, in simulated time. Defaults 10m and 12m.
	OutageStart, Outage time.Duration
	// Tick is the simulated step: the webhooks of a tick are sent together,
	// and processed, before its scans. Default 15s.
	Tick time.Duration
	// Seed makes the script reproducible. Default 1.
	Seed uint64
	// Progress, if not nil, receives a line per phase.
	Progress io.Writer
}

// WithDefaults returns the config with every unset field at its default.
func (c Config) WithDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Venues, 2)
	def(&c.Scanners, 3)
	def(&c.Orders, 150)
	if c.Presale == 0 {
		c.Presale = 0.7
	}
	if c.RefundRatio == 0 {
		c.RefundRatio = 0.1
	}
	if c.DuplicateRatio == 0 {
		c.DuplicateRatio = 0.05
	}
	if c.Doors == 0 {
		c.Doors = 45 * time.Minute
	}
	if c.OutageStart == 0 {
		c.OutageStart = 10 * time.Minute
	}
	if c.Outage == 0 {
		c.Outage = 12 * time.Minute
	}
	if c.Tick == 0 {
		c.Tick = 15 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Venues < 0 || c.Scanners < 1 || c.Orders < 1 {
		errs = append(errs, errors.New("venues >= 0, scanners >= 1 and orders >= 1"))
	}
	if c.Tick <= 0 || c.Doors <= c.Tick {
		errs = append(errs, errors.New("the doors must stay open longer than a tick"))
	}
	if c.OutageStart < 0 || c.Outage <= 0 || c.OutageStart+c.Outage > c.Doors {
		errs = append(errs, fmt.Errorf("the outage (%s from %s) must fall within the %s the doors are open", c.Outage, c.OutageStart, c.Doors))
	}
	return errors.Join(errs...)
}
