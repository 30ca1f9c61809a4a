// Package server wires usher together: the store, the queue, the processor,
// the receiver and the admin API behind one HTTP listener. cmd/usher and the
// in-process test harness both start usher through it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/admin"
	"github.com/usherhq/usher/internal/ingest"
	"github.com/usherhq/usher/internal/passes"
	"github.com/usherhq/usher/internal/processor"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/secrets"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/postgres"
	"github.com/usherhq/usher/internal/store/sqlite"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/ticketcode"
)

// App is a running usher.
type App struct {
	cfg          Config
	log          *slog.Logger
	metrics      *telemetry.Metrics
	db           *store.DB
	queue        *queue.Queue
	consumers    *queue.Consumers
	proc         *processor.Processor
	codes        *passes.Codes
	components   []component
	publicRoutes map[string]http.Handler
	adminRoutes  []admin.Route
	listener     net.Listener
	http         *http.Server
	served       chan error
	bg           sync.WaitGroup
	stopBg       context.CancelFunc

	// Bootstrapped is set when this start created the demo credentials.
	Bootstrapped *Credentials
}

// Start opens the store and the queue, starts the processor and the
// background services, and listens on cfg.Addr. It returns once usher is
// accepting requests; Shutdown stops it.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (_ *App, err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a := &App{cfg: cfg, log: log, metrics: telemetry.NewMetrics(), served: make(chan error, 1)}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if a.db, err = openStore(ctx, cfg); err != nil {
		return nil, err
	}
	sealer, err := openSealer(cfg, log)
	if err != nil {
		return nil, err
	}
	a.db.SetSealer(sealer)
	a.db.SetClock(cfg.Clock)
	if a.queue, err = queue.Open(ctx, queue.Config{
		URL:        cfg.NATSURL,
		Namespace:  cfg.NATSNamespace,
		Embedded:   queue.EmbeddedConfig{DataDir: cfg.DataDir, SyncAlways: !cfg.RelaxedSync},
		Partitions: cfg.Partitions,
		MaxBytes:   cfg.QueueMaxBytes,
	}, log, func(n int) { a.metrics.EnqueueBatchSize.Observe(float64(n)) }); err != nil {
		return nil, err
	}
	if cfg.Bootstrap {
		if a.Bootstrapped, err = bootstrap(ctx, a.db, cfg.DataDir, cfg.Clock); err != nil {
			return nil, err
		}
	}
	if a.codes, err = passes.LoadCodes(ctx, a.db, cfg.Clock); err != nil {
		return nil, fmt.Errorf("ticket code keys: %w", err)
	}
	a.proc = processor.New(a.db, signedCodes{a.codes}, a.metrics, log, cfg.Clock)
	proc := a.proc
	depth := func(p int, pending uint64) {
		a.metrics.QueueDepth.WithLabelValues(strconv.Itoa(p)).Set(float64(pending))
	}
	a.metrics.Registry.MustRegister(newPendingCollector(a.queue, log))
	if cfg.Has(RoleProcess) {
		handle := progressHandler(proc.HandleBatch, a.metrics.PartitionProgress, a.queue.Partitions(), cfg.Clock)
		if a.consumers, err = a.queue.Consume(ctx, handle, depth); err != nil {
			return nil, err
		}
	}
	trusted, err := ingest.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	recv := ingest.NewReceiver(ingest.Config{MaxBodyBytes: cfg.MaxBodyBytes, TrustedProxies: trusted}, a.db, a.queue, a.metrics, log, cfg.Clock)
	api := admin.NewAPI(a.db, admin.NewAuthenticator(a.db, cfg.AdminToken), log, cfg.Clock, recv.ForgetSource)
	a.adminRoutes = api.Routes()
	for _, build := range componentConstructors() {
		c, err := build(a)
		if err != nil {
			return nil, err
		}
		if c == nil {
			continue
		}
		if err := c.Start(ctx); err != nil {
			return nil, err
		}
		a.components = append(a.components, c)
		a.adminRoutes = append(a.adminRoutes, c.Routes()...)
		if pr, ok := c.(interface {
			PublicRoutes() map[string]http.Handler
		}); ok {
			if a.publicRoutes == nil {
				a.publicRoutes = map[string]http.Handler{}
			}
			maps.Copy(a.publicRoutes, pr.PublicRoutes())
		}
	}
	a.http = &http.Server{
		Handler:           a.routes(recv, api),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if a.listener, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	go func() { a.served <- a.http.Serve(a.listener) }()
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopBg = cancel
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		a.pruneDedupe(bgCtx)
	}()
	if cfg.Has(RoleProcess) {
		a.bg.Add(1)
		go func() {
			defer a.bg.Done()
			a.expireHolds(bgCtx)
		}()
	}
	log.Info("usher started", "addr", a.Addr(), "roles", cfg.Roles, "store", a.db.Engine(), "queue", queueKind(cfg), "partitions", cfg.Partitions, "durable_sync", !cfg.RelaxedSync)
	return a, nil
}

// signedCodes mints Ed25519-signed ticket codes that scanners can verify
// offline (docs/ticket-codes.md).
type signedCodes struct{ codes *passes.Codes }

func (s signedCodes) IssueCode(t usher.Ticket) (string, error) {
	return s.codes.Issue(ticketcode.Claims{TicketID: t.TicketID, ShowID: t.ShowID, VenueID: t.VenueID, Generation: t.Generation})
}

// Codes returns the ticket code authority.
func (a *App) Codes() *passes.Codes { return a.codes }

// openSealer loads the master key that seals source secrets at rest.
func openSealer(cfg Config, log *slog.Logger) (*secrets.Sealer, error) {
	var key []byte
	var err error
	switch {
	case cfg.MasterKey != "":
		key, err = secrets.ParseKey(cfg.MasterKey)
	case cfg.MasterKeyFile != "":
		var raw []byte
		if raw, err = os.ReadFile(cfg.MasterKeyFile); err == nil {
			key, err = secrets.ParseKey(string(raw))
		}
	default:
		var created bool
		path := filepath.Join(cfg.DataDir, "master.key")
		key, created, err = secrets.LoadOrCreateKeyFile(path)
		if created {
			log.Warn("development mode: generated a master key beside the data; set USHER_MASTER_KEY in production", "path", path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return secrets.New(key)
}

func openStore(ctx context.Context, cfg Config) (*store.DB, error) {
	if cfg.PostgresURL != "" {
		return postgres.Open(ctx, cfg.PostgresURL)
	}
	return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "usher.db"))
}

func queueKind(cfg Config) string {
	if cfg.NATSURL != "" {
		return "external"
	}
	return "embedded"
}

// Addr returns the address the HTTP server listens on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// URL returns the base URL of the HTTP server.
func (a *App) URL() string { return "http://" + a.Addr() }

// AdminRoutes lists every admin route with its scope.
func (a *App) AdminRoutes() []admin.Route { return a.adminRoutes }

// Metrics returns the process's metrics.
func (a *App) Metrics() *telemetry.Metrics { return a.metrics }

// Logger returns the process's logger.
func (a *App) Logger() *slog.Logger { return a.log }

// Config returns the effective configuration.
func (a *App) Config() Config { return a.cfg }

// Store returns the state store, for tests and tools that inspect it.
func (a *App) Store() *store.DB { return a.db }

// Queue returns the inbound queue.
func (a *App) Queue() *queue.Queue { return a.queue }

// Served returns a channel that receives the HTTP server's end.
func (a *App) Served() <-chan error { return a.served }

// Shutdown drains usher: it stops accepting connections and waits for the
// requests in flight (each finishes its durable enqueue), then lets each
// partition finish the batch it is applying, then closes the queue and store.
func (a *App) Shutdown(ctx context.Context) error {
	err := a.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = errors.Join(err, a.http.Close())
	}
	a.close()
	a.log.Info("usher stopped")
	return err
}

func (a *App) close() {
	if a.stopBg != nil {
		a.stopBg()
		a.bg.Wait()
	}
	for i := len(a.components) - 1; i >= 0; i-- {
		a.components[i].Stop()
	}
	if a.consumers != nil {
		a.consumers.Stop()
	}
	if a.proc != nil {
		a.proc.Close()
	}
	if a.queue != nil {
		a.queue.Close()
	}
	if a.db != nil {
		_ = a.db.Close()
	}
}

// expireHolds releases lapsed order.created holds every 15 seconds.
func (a *App) expireHolds(ctx context.Context) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := a.proc.ExpireHolds(ctx, a.cfg.Clock()); err != nil && ctx.Err() == nil {
			a.log.Warn("hold expiry failed", "err", err)
		} else if n > 0 {
			a.log.Info("holds expired", "orders", n)
		}
	}
}

// pruneDedupe deletes dedupe records older than the retention, hourly, in
// small batches so that it never holds the writer for long.
func (a *App) pruneDedupe(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		for {
			n, err := a.db.PruneInbound(ctx, time.Now().Add(-a.cfg.DedupeRetention), 1000)
			if err != nil {
				if ctx.Err() == nil {
					a.log.Warn("dedupe prune failed", "err", err)
				}
				break
			}
			if n < 1000 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
