package delivery

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultRetrySchedule is the delay before each retry: with the first
// attempt, 8 attempts over about 27.6 hours (Svix's schedule).
var DefaultRetrySchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// Bounds of a retry schedule, global or per subscription.
const (
	maxScheduleLen = 20
	minRetryDelay  = time.Second
	maxRetryDelay  = 7 * 24 * time.Hour
)

// Config configures the delivery lanes. Each field says its default and,
// when an operator may set it, its environment variable; `usher serve` reads
// it into server.Config.Delivery from flags, environment and the YAML key
// delivery (README.md, Configuration). Fields tagged yaml:"-" are for tests.
type Config struct {
	// RetrySchedule is the delay before each retry after a failed attempt;
	// a subscription may have its own. Default DefaultRetrySchedule.
	// Environment: USHER_DELIVERY_RETRY_SCHEDULE, e.g. "5s,5m,30m,2h".
	RetrySchedule []time.Duration `yaml:"retry_schedule"`
	// Jitter spreads each retry delay by up to ± this fraction. Default 0.2;
	// a negative value turns it off.
	Jitter float64 `yaml:"-"`
	// ConnectTimeout bounds a connection. Default 5s.
	// Environment: USHER_DELIVERY_CONNECT_TIMEOUT.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Timeout bounds a whole attempt: connect, TLS, request and response.
	// Default 15s. Environment: USHER_DELIVERY_TIMEOUT.
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is how many attempts one lane makes at once, each for a
	// different order. Default 8. Environment: USHER_DELIVERY_CONCURRENCY.
	Concurrency int `yaml:"concurrency"`
	// PollInterval is how often the outbox and the due deliveries are
	// looked at when nothing wakes the lanes sooner. Default 500ms.
	// Environment: USHER_DELIVERY_POLL_INTERVAL.
	PollInterval time.Duration `yaml:"poll_interval"`
	// BatchSize is how many outbox events one dispatcher pass reads.
	// Default 500.
	BatchSize int `yaml:"-"`
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses (never cloud metadata). Default false.
	// Environment: USHER_ALLOW_PRIVATE_DESTINATIONS=true.
	AllowPrivate bool `yaml:"allow_private_destinations"`
	// BreakerFailures is how many failed attempts in a row open a lane's
	// circuit breaker. Default 5. Environment: USHER_DELIVERY_BREAKER_FAILURES.
	BreakerFailures int `yaml:"breaker_failures"`
	// BreakerTimeout is how long an open breaker waits before it lets one
	// probe through. Default 60s. Environment: USHER_DELIVERY_BREAKER_TIMEOUT.
	BreakerTimeout time.Duration `yaml:"breaker_timeout"`
	// ReplayRate bounds replays, in deliveries re-queued per second across
	// all replay requests. Default 500. Environment: USHER_DELIVERY_REPLAY_RATE.
	ReplayRate float64 `yaml:"replay_rate"`
	// GapTimeout is how long the dispatcher waits for an outbox sequence
	// number it skipped to appear (a transaction still committing on
	// PostgreSQL) before it gives up on it. Default 2m.
	GapTimeout time.Duration `yaml:"-"`
	// Retention is how long delivered and dead deliveries and attempts are
	// kept. Default 720h (30 days). Environment: USHER_DELIVERY_RETENTION.
	Retention time.Duration `yaml:"retention"`
	// Lease is how long a claim holds a delivery unless renewed; a lane
	// renews it every third of it while the attempt runs, so an attempt may
	// take longer. A process that dies holds its deliveries this long (one
	// that restarts releases them at once). Default 15s.
	Lease time.Duration `yaml:"-"`
}

// WithDefaults returns the config with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.RetrySchedule == nil {
		c.RetrySchedule = DefaultRetrySchedule
	}
	if c.Jitter == 0 {
		c.Jitter = 0.2
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.PollInterval == 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = 5
	}
	if c.BreakerTimeout == 0 {
		c.BreakerTimeout = time.Minute
	}
	if c.ReplayRate == 0 {
		c.ReplayRate = 500
	}
	if c.GapTimeout == 0 {
		c.GapTimeout = 2 * time.Minute
	}
	if c.Retention == 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.Lease == 0 {
		c.Lease = 15 * time.Second
	}
	return c
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if err := validateSchedule(c.RetrySchedule); err != nil {
		errs = append(errs, err)
	}
	if c.Jitter >= 1 {
		errs = append(errs, fmt.Errorf("jitter %v: want less than 1", c.Jitter))
	}
	if c.ConnectTimeout <= 0 || c.Timeout <= 0 || c.ConnectTimeout > c.Timeout {
		errs = append(errs, fmt.Errorf("timeouts connect %s, total %s: want 0 < connect <= total", c.ConnectTimeout, c.Timeout))
	}
	if c.Concurrency < 1 || c.Concurrency > 256 {
		errs = append(errs, fmt.Errorf("concurrency %d: want 1..256", c.Concurrency))
	}
	if c.PollInterval <= 0 || c.BatchSize < 1 || c.GapTimeout <= 0 {
		errs = append(errs, errors.New("poll interval, batch size and gap timeout must be positive"))
	}
	if c.BreakerFailures < 1 || c.BreakerTimeout <= 0 {
		errs = append(errs, fmt.Errorf("breaker %d failures, %s: want at least 1 and a positive timeout", c.BreakerFailures, c.BreakerTimeout))
	}
	if c.ReplayRate <= 0 {
		errs = append(errs, fmt.Errorf("replay rate %v: want more than 0", c.ReplayRate))
	}
	if c.Lease < time.Second {
		errs = append(errs, fmt.Errorf("lease %s: want at least 1s", c.Lease))
	}
	if c.Retention < 24*time.Hour {
		errs = append(errs, fmt.Errorf("retention %s: want at least 24h", c.Retention))
	}
	return errors.Join(errs...)
}

// ParseSchedule parses a comma-separated list of delays ("5s,5m,30m,2h").
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("retry schedule %q: %w", s, err)
		}
		out = append(out, d)
	}
	return out, validateSchedule(out)
}

func validateSchedule(s []time.Duration) error {
	if len(s) == 0 || len(s) > maxScheduleLen {
		return fmt.Errorf("retry schedule: want 1 to %d delays, not %d", maxScheduleLen, len(s))
	}
	for _, d := range s {
		if d < minRetryDelay || d > maxRetryDelay {
			return fmt.Errorf("retry delay %s: want %s to %s", d, minRetryDelay, maxRetryDelay)
		}
	}
	return nil
}
