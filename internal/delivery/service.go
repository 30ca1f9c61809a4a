package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/delivery/ssrf"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/periodic"
	"github.com/usherhq/usher/internal/personal"
	"github.com/usherhq/usher/internal/telemetry"
)

// Options are a Service's collaborators besides its store and config.
type Options struct {
	// Logger receives what the lanes handle; default: discarded.
	Logger *slog.Logger
	// Now is the clock of every schedule, lease and signature; default
	// time.Now. Tests move it to skip retry delays.
	Now func() time.Time
	// Registerer takes the delivery metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Client sends the deliveries; default the SSRF-guarded client of
	// ssrf.Policy{AllowPrivate: cfg.AllowPrivate} with the config's timeouts.
	Client *http.Client
	// Rand returns numbers in [0, 1) for the jitter; default math/rand/v2.
	Rand func() float64
	// Processing replays processing-stage dead letters; nil answers 501.
	Processing ProcessingReplayer
	// Sealer (the master keys) opens the sealed personal data of a dead
	// letter for a caller with pii:read; nil shows it to no one.
	Sealer personal.Sealer
	// Instance names this process across its restarts (the server keeps it
	// in the data directory); no other live process may share it. Every
	// lease this process takes carries it, and Start ends the leases its
	// previous run left when it died, so that their deliveries are sent
	// again at once instead of after the lease. Empty: a dead run's leases
	// run out on their own. It may not contain a dot.
	Instance string
	// Catalog is the event catalog whose versions payloads are rendered in;
	// default events.Load().
	Catalog *events.Catalog
	// Tracing, when on, traces every attempt and sends its traceparent.
	Tracing *telemetry.Tracing
}

// Service runs the dispatcher and one lane per subscription, and serves the
// subscription, dead-letter and replay use cases of the admin API.
type Service struct {
	st         Store
	cfg        Config
	policy     ssrf.Policy
	log        *slog.Logger
	now        func() time.Time
	client     *http.Client
	sealer     personal.Sealer
	rnd        func() float64
	processing ProcessingReplayer
	instance   string
	metrics    *metrics
	limiter    *rate.Limiter
	disp       *dispatcher
	catalog    *events.Catalog
	tracing    *telemetry.Tracing
	listen     *listenHub

	mu      sync.Mutex
	lanes   map[string]*lane
	running bool
	wake    chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	run     string // this run's part of the lease tokens, set by Start
}

// New returns a Service; Start runs its lanes. A Service that is never
// started still serves the API: its replays are picked up by the lanes of
// another process on the same store.
func New(st Store, cfg Config, opts Options) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("delivery config: %w", err)
	}
	if strings.Contains(opts.Instance, ".") {
		return nil, fmt.Errorf("delivery instance %q: a dot separates the parts of a lease token", opts.Instance)
	}
	s := &Service{
		st: st, cfg: cfg, policy: ssrf.Policy{AllowPrivate: cfg.AllowPrivate},
		log: opts.Logger, now: opts.Now, client: opts.Client, rnd: opts.Rand, processing: opts.Processing, sealer: opts.Sealer, instance: opts.Instance, tracing: opts.Tracing,
		limiter: rate.NewLimiter(rate.Limit(cfg.ReplayRate), max(1, int(cfg.ReplayRate))),
		lanes:   map[string]*lane{}, wake: make(chan struct{}, 1),
	}
	s.log = telemetry.OrDiscard(s.log)
	if s.now == nil {
		s.now = time.Now
	}
	if s.client == nil {
		s.client = s.policy.NewClient(cfg.ConnectTimeout, cfg.Timeout)
	}
	s.listen = newListenHub()
	s.client = withListen(s.client, s.listen)
	if s.rnd == nil {
		s.rnd = rand.Float64
	}
	s.disp = newDispatcher(st, s.now, cfg)
	if s.catalog = opts.Catalog; s.catalog == nil {
		var err error
		if s.catalog, err = events.Load(); err != nil {
			return nil, fmt.Errorf("event catalog: %w", err)
		}
	}
	var err error
	if s.metrics, err = newMetrics(opts.Registerer, s); err != nil {
		return nil, fmt.Errorf("delivery metrics: %w", err)
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(newDeprecatedGauge(s)); err != nil {
			return nil, fmt.Errorf("delivery metrics: %w", err)
		}
	}
	return s, nil
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Start ends the leases this instance's previous run left behind, then
// runs the dispatcher, the lanes, the pruning of old deliveries and the
// sweep for subscriptions on a deprecated version until ctx ends or Stop
// is called.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return errors.New("delivery: already started")
	}
	s.run = newToken()
	if s.instance != "" {
		n, err := s.st.ReleaseLeases(ctx, s.instance+".")
		if err != nil {
			s.log.Warn("release the leases of the previous run; they run out on their own", "err", err)
		} else if n > 0 {
			s.log.Info("released the leases of the previous run", "deliveries", n)
		}
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.running = true
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		s.loop(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.prune(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.noticeLoop(ctx)
	}()
	return nil
}

// Stop ends the background work and waits for it. Attempts in flight are
// cut short and their deliveries released, to be attempted again.
func (s *Service) Stop() {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	s.wg.Wait()
	s.client.CloseIdleConnections()
}

// changed tells the loop that subscriptions or deliveries changed, so that
// it looks at once instead of at its next tick.
func (s *Service) changed() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop is the service's heartbeat: it brings the lanes in line with the
// subscriptions, records the deliveries of new outbox events and wakes the
// lanes that have due work.
func (s *Service) loop(ctx context.Context) {
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	for {
		if err := s.tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("delivery pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.wake:
		}
	}
}

func (s *Service) tick(ctx context.Context) error {
	subs, err := s.st.Subscriptions(ctx)
	if err != nil {
		return err
	}
	s.syncLanes(ctx, subs)
	s.sweepListeners(ctx, subs)
	for more := true; more; {
		var touched map[string]bool
		if touched, more, err = s.disp.pass(ctx); err != nil {
			return fmt.Errorf("dispatch: %w", err)
		}
		for id := range touched {
			s.poke(id)
		}
	}
	due, err := s.st.DueSubscriptions(ctx, s.now())
	if err != nil {
		return err
	}
	for _, id := range due {
		s.poke(id)
	}
	return nil
}

// poke wakes a subscription's lane.
func (s *Service) poke(id string) {
	s.mu.Lock()
	l := s.lanes[id]
	s.mu.Unlock()
	if l != nil {
		l.poke()
	}
}

// syncLanes starts a lane for each new subscription, updates the others and
// stops those of deleted subscriptions.
func (s *Service) syncLanes(ctx context.Context, subs []usher.Subscription) {
	seen := make(map[string]bool, len(subs))
	for _, sub := range subs {
		seen[sub.ID] = true
		s.mu.Lock()
		l := s.lanes[sub.ID]
		if l == nil {
			l = newLane(s, sub)
			s.lanes[sub.ID] = l
			laneCtx, cancel := context.WithCancel(ctx)
			l.cancel = cancel
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				l.run(laneCtx)
			}()
		}
		s.mu.Unlock()
		l.update(ctx, sub)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, l := range s.lanes {
		if !seen[id] {
			l.cancel()
			delete(s.lanes, id)
			s.metrics.forget(id)
		}
	}
}

// breakerStates returns each lane's breaker state as a gauge value.
func (s *Service) breakerStates() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.lanes))
	for id, l := range s.lanes {
		out[id] = breakerValue(l.breakerState())
	}
	return out
}

// BreakerState returns the state of a subscription's breaker in this
// process ("closed", "half-open" or "open"), or "" when no lane runs here.
func (s *Service) BreakerState(id string) string {
	s.mu.Lock()
	l := s.lanes[id]
	s.mu.Unlock()
	if l == nil {
		return ""
	}
	return l.breakerState().String()
}

// prune deletes old delivered and dead deliveries and attempts, hourly.
func (s *Service) prune(ctx context.Context) {
	periodic.Every(ctx, time.Hour, true, func(ctx context.Context) {
		_, err := periodic.Drain(ctx, 1000, func(ctx context.Context, limit int) (int64, error) {
			return s.st.PruneDeliveries(ctx, s.now().Add(-s.cfg.Retention), limit)
		})
		if err != nil && ctx.Err() == nil {
			s.log.Warn("delivery prune failed", "err", err)
		}
	})
}

// leaseToken returns a new claim's token: the instance and the run, when
// the instance is named, then a random part.
func (s *Service) leaseToken() string {
	s.mu.Lock()
	run := s.run
	s.mu.Unlock()
	if s.instance == "" {
		return newToken()
	}
	return s.instance + "." + run + "." + newToken()
}
