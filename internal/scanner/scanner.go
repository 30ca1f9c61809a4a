// Package scanner is usher's gate API. Scanners keep a local copy of their
// venue's feed (JSON pages, snapshots, or Server-Sent Events pushed as
// changes commit); online scans are decided here, first scan wins by
// compare-and-swap; scans made offline are uploaded in batches, recorded as
// the device decided them and reconciled (earliest admission wins, the rest
// are duplicate entries; admissions of tickets revoked at scan time are
// flagged). Every decision, the feed entry it causes and its outbound events
// commit in one transaction. docs/gates.md describes the API and the
// freshness metrics.
package scanner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/drain"
	"github.com/usherhq/usher/internal/periodic"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/ticketcode"

	"github.com/prometheus/client_golang/prometheus"
)

// Config tunes the scanner API. Each field says its default.
type Config struct {
	// PollInterval is how often a venue with streaming scanners looks for
	// new feed entries in the store. Polling the store is what makes pushes
	// work across processes; scans decided in this process also wake the
	// stream at once. Default 100ms.
	PollInterval time.Duration
	// Heartbeat is the interval of the comment lines that keep an idle
	// stream open through proxies. Default 15s.
	Heartbeat time.Duration
	// FeedRetention is how long feed history is kept; a scanner whose cursor
	// is older gets a snapshot. Negative keeps it forever. Default 30 days.
	FeedRetention time.Duration
	// PruneInterval is how often old feed history is pruned. Default 1h.
	PruneInterval time.Duration
	// DefaultLimit and MaxLimit bound the entries of one feed page.
	// Defaults 500 and 5000.
	DefaultLimit, MaxLimit int
	// MaxBatch is the most scans one offline upload may carry. Default 1000.
	MaxBatch int
}

// Options are the service's collaborators; each has a default.
type Options struct {
	// Logger receives stream and pruning failures; default: discarded.
	Logger *slog.Logger
	// Registerer takes the scanner metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Codes verifies signed ticket codes (nil: codes are only looked up).
	// With it, a well-formed code with a bad signature is invalid, and the
	// code of an older generation (transferred, reinstated) is revoked.
	Codes CodeVerifier
	// Presented enforces rotating display codes on online scans (nil: any
	// valid code admits).
	Presented PresentedChecker
}

func (o Options) withDefaults() Options {
	o.Logger = telemetry.OrDiscard(o.Logger)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// PresentedChecker applies the rotating display-code rules to a ticket
// found by its code: otp is "" for a plain code. It returns nil to admit, or
// an error wrapping ErrStaticCodeRefused or a ticketcode display error.
type PresentedChecker interface {
	CheckPresented(ctx context.Context, tx PresentedTx, t usher.Ticket, otp, nonce string, now time.Time) error
}

// ErrStaticCodeRefused is what a PresentedChecker wraps when a show admits
// only rotating codes.
var ErrStaticCodeRefused = errors.New("static code refused")

// CodeVerifier checks a signed ticket code's signature and returns its claims.
type CodeVerifier interface {
	Verify(ctx context.Context, code string) (ticketcode.Claims, error)
}

// WithDefaults returns the config with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.PollInterval == 0 {
		c.PollInterval = 100 * time.Millisecond
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.FeedRetention == 0 {
		c.FeedRetention = 30 * 24 * time.Hour
	}
	if c.PruneInterval == 0 {
		c.PruneInterval = time.Hour
	}
	if c.DefaultLimit == 0 {
		c.DefaultLimit = 500
	}
	if c.MaxLimit == 0 {
		c.MaxLimit = 5000
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 1000
	}
	return c
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.PollInterval < time.Millisecond {
		errs = append(errs, errors.New("poll interval: at least 1ms"))
	}
	if c.Heartbeat < 100*time.Millisecond {
		errs = append(errs, errors.New("heartbeat: at least 100ms"))
	}
	if c.DefaultLimit < 1 || c.MaxLimit < c.DefaultLimit {
		errs = append(errs, errors.New("limits: want 1 <= default <= max"))
	}
	if c.MaxBatch < 1 {
		errs = append(errs, errors.New("max batch: at least 1"))
	}
	return errors.Join(errs...)
}

// Service serves the scanner routes and runs the feed pollers and the
// history pruner.
type Service struct {
	cfg       Config
	db        Store
	log       *slog.Logger
	now       func() time.Time
	codes     CodeVerifier
	presented PresentedChecker
	metrics   *metrics

	hubsMu sync.Mutex
	hubs   map[string]*hub

	marksMu sync.Mutex
	marks   map[string]int64 // venue → delivered mark as last seen here

	drain *drain.Signal // closed when the HTTP server shuts down or Stop runs

	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup
}

// New returns a Service over st; Start runs its background work.
func New(st Store, cfg Config, opts Options) (*Service, error) {
	cfg, opts = cfg.WithDefaults(), opts.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("scanner config: %w", err)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{
		cfg: cfg, db: st, log: opts.Logger, now: opts.Now, codes: opts.Codes, presented: opts.Presented, metrics: m,
		hubs: map[string]*hub{}, marks: map[string]int64{},
		drain: drain.New(),
		ctx:   ctx, cancel: cancel,
	}, nil
}

// Start begins pruning old feed history; it returns at once. The service's
// background work lives until Stop, not until ctx ends: ctx is the caller's
// start-up context.
func (s *Service) Start(ctx context.Context) error {
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if s.cfg.FeedRetention < 0 {
		return nil
	}
	s.bg.Go(func() { s.pruneLoop(s.ctx) })
	return nil
}

// Stop ends every stream and background goroutine and waits for them.
func (s *Service) Stop() {
	s.drain.Close()
	s.cancel()
	s.bg.Wait()
}

// Routes lists the scanner routes with their scopes. A venue in the path
// is checked by the route's scope; a venue in the body by the handler.
func (s *Service) Routes() []auth.Route {
	venueScope := auth.ScopeScannerPrefix + "{venue_id}"
	return []auth.Route{
		{Method: http.MethodGet, Pattern: "/v1/venues/{venue_id}/feed", Scope: venueScope, Handler: s.handleFeed()},
		{Method: http.MethodGet, Pattern: "/v1/venues/{venue_id}/health", Scope: venueScope, Handler: s.handleHealth()},
		{Method: http.MethodPost, Pattern: "/v1/scans", Scope: auth.ScopeScannerAny, Handler: s.handleScan()},
		{Method: http.MethodPost, Pattern: "/v1/scans/batch", Scope: auth.ScopeScannerAny, Handler: s.handleBatch()},
	}
}

func (s *Service) pruneLoop(ctx context.Context) {
	periodic.Every(ctx, s.cfg.PruneInterval, true, func(ctx context.Context) {
		_, err := periodic.Drain(ctx, 1000, func(ctx context.Context, limit int) (int64, error) {
			return s.db.PruneTicketChanges(ctx, s.now().Add(-s.cfg.FeedRetention), limit)
		})
		if err != nil && ctx.Err() == nil {
			s.log.Warn("feed prune failed", "err", err)
		}
	})
}
