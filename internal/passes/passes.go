// Package passes serves what a ticket holder carries to the gate: signed
// ticket codes (package ticketcode) with their key management, rotating
// display codes against screenshots, and short-lived, revocable pass URLs
// that show a ticket as JSON or as a QR code. Codes is the code authority
// that the processor (minting) and the scanner (checking) share; Service is
// the HTTP side and the background upkeep. docs/ticket-codes.md describes
// the formats and the API.
package passes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/usherhq/usher/internal/periodic"
	"github.com/usherhq/usher/internal/telemetry"
)

// Config tunes the pass service. Each field says its default.
type Config struct {
	// PublicURL is the base of pass URLs, e.g. https://tickets.example.com.
	// Default: the scheme and Host of the request that makes the pass.
	PublicURL string
	// PassTTL is the lifetime of a pass URL when the request sets no ?ttl=.
	// Default 15m.
	PassTTL time.Duration
	// MaxPassTTL is the longest ?ttl= accepted. Revocations are kept this
	// long plus an hour, then pruned: by then every token they could name
	// has expired. Default 24h.
	MaxPassTTL time.Duration
	// KeyRefresh is how often the signing keys are read again, so that a
	// rotation made by another process signs here too. Default 1m.
	KeyRefresh time.Duration
	// PruneInterval is how often revocations past their use are deleted.
	// Default 1h.
	PruneInterval time.Duration
}

// Options are the service's collaborators; each has a default.
type Options struct {
	// Logger receives key refresh and pruning failures; default: discarded.
	Logger *slog.Logger
	// Now is the clock of display codes and pass expiries. Default time.Now.
	Now func() time.Time
	// Codes is the code authority shared with the processor and the
	// scanner. Default: one loaded from the store at Start.
	Codes *Codes
}

func (o Options) withDefaults() Options {
	o.Logger = telemetry.OrDiscard(o.Logger)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// WithDefaults returns the config with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.PassTTL == 0 {
		c.PassTTL = 15 * time.Minute
	}
	if c.MaxPassTTL == 0 {
		c.MaxPassTTL = 24 * time.Hour
	}
	if c.KeyRefresh == 0 {
		c.KeyRefresh = time.Minute
	}
	if c.PruneInterval == 0 {
		c.PruneInterval = time.Hour
	}
	return c
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("public url %q: want http(s)://host[/path]", c.PublicURL))
		}
	}
	if c.PassTTL < time.Second || c.PassTTL > c.MaxPassTTL {
		errs = append(errs, errors.New("pass ttl: want 1s <= ttl <= max pass ttl"))
	}
	if c.KeyRefresh < time.Second {
		errs = append(errs, errors.New("key refresh: at least 1s"))
	}
	if c.PruneInterval < time.Second {
		errs = append(errs, errors.New("prune interval: at least 1s"))
	}
	return errors.Join(errs...)
}

// Service serves the code and pass routes and keeps the keys fresh and the
// revocation list short.
type Service struct {
	cfg   Config
	db    Store
	log   *slog.Logger
	now   func() time.Time
	codes *Codes

	cancel context.CancelFunc
	bg     sync.WaitGroup
}

// New returns a Service over st; it does no I/O until Start.
func New(st Store, cfg Config, opts Options) (*Service, error) {
	cfg, opts = cfg.WithDefaults(), opts.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("passes config: %w", err)
	}
	return &Service{cfg: cfg, db: st, log: opts.Logger, now: opts.Now, codes: opts.Codes}, nil
}

// Start loads the code authority when none was given, then begins the
// background upkeep; it returns at once. Stop ends it.
func (s *Service) Start(ctx context.Context) error {
	if s.codes == nil {
		codes, err := LoadCodes(ctx, s.db, s.now)
		if err != nil {
			return err
		}
		s.codes = codes
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.bg.Go(func() { periodic.Every(bg, s.cfg.KeyRefresh, false, s.refreshKeys) })
	s.bg.Go(func() { periodic.Every(bg, s.cfg.PruneInterval, false, s.prune) })
	return nil
}

// Stop ends the background upkeep and waits for it.
func (s *Service) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.bg.Wait()
}

// Codes returns the code authority (nil before Start when none was given).
func (s *Service) Codes() *Codes { return s.codes }

func (s *Service) refreshKeys(ctx context.Context) {
	if err := s.codes.Reload(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("ticket key refresh failed", "err", err)
	}
}

func (s *Service) prune(ctx context.Context) {
	before := s.now().Add(-s.cfg.MaxPassTTL - time.Hour)
	if _, err := s.db.PrunePassRevocations(ctx, before); err != nil && ctx.Err() == nil {
		s.log.Warn("pass revocation prune failed", "err", err)
	}
}
