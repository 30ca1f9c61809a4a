// Package server wires usher together: the store, the queue, the processor,
// the receiver and the admin API behind one HTTP listener. cmd/usher and the
// in-process test harness both start usher through it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/admin"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/datadir"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/ingest"
	"github.com/usherhq/usher/internal/passes"
	"github.com/usherhq/usher/internal/periodic"
	"github.com/usherhq/usher/internal/processor"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/secrets"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/engine"
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
	adminRoutes  []auth.Route
	listener     net.Listener
	http         *http.Server
	served       chan error
	bg           sync.WaitGroup
	stopBg       context.CancelFunc
	lock         *datadir.Lock
	metricsLn    net.Listener // the token-free /metrics listener, nil without MetricsAddr
	metricsHTTP  *http.Server
	progress     *progress
	storeProbe   storeProbe
	authn        *auth.Authenticator // every surface's bearer tokens: the API guard and the console
	sealer       *secrets.Keyring    // the master keys; the receiver seals personal data with them
	catalog      *events.Catalog     // the event contracts, compiled once
	marks        *marks              // the embedded queue's last sequences (queuemarks.go); nil when not kept
	trusted      []netip.Prefix      // the trusted proxies (Config.TrustedProxies), parsed

	// Bootstrapped is set when this start created the demo credentials.
	Bootstrapped *Credentials
}

// Start takes the data directory's lock, opens the store and the queue,
// starts the processor and the background services, and listens on
// cfg.Addr. It returns once usher is accepting requests; Shutdown stops it.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (_ *App, err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a := &App{cfg: cfg, log: log, metrics: telemetry.NewMetrics(), served: make(chan error, 1), progress: &progress{}}
	warnShortRetention(cfg, log)
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if err := a.openState(ctx); err != nil {
		return nil, err
	}
	if err := a.openQueue(ctx); err != nil {
		return nil, err
	}
	if err := a.startProcessing(ctx); err != nil {
		return nil, err
	}
	recv, authn, err := a.startComponents(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.listen(recv, authn); err != nil {
		return nil, err
	}
	a.startBackground(ctx)
	log.Info("usher started", "addr", a.Addr(), "metrics_addr", a.MetricsAddr(), "roles", cfg.Roles, "store", a.db.Engine(), "queue", queueKind(cfg), "partitions", cfg.Partitions, "durable_sync", !cfg.RelaxedSync)
	return a, nil
}

// openState locks the data directory before anything else opens it, then
// opens the store, refusing a directory whose store is missing, replaced or
// damaged.
func (a *App) openState(ctx context.Context) error {
	var err error
	if a.lock, err = datadir.Acquire(a.cfg.DataDir); err != nil {
		return err
	}
	guard := a.guard()
	identity, err := guard.BeforeOpen()
	if err != nil {
		return err
	}
	if a.db, err = openStore(ctx, a.cfg); err != nil {
		return err
	}
	storeID, err := a.db.StoreID(ctx)
	if err != nil {
		return err
	}
	if err := guard.AfterOpen(identity, storeID); err != nil {
		return err
	}
	if a.sealer, err = openSealer(a.cfg, a.log, identity == ""); err != nil {
		return err
	}
	a.db.SetSealer(a.sealer)
	a.db.SetClock(a.cfg.Clock)
	return nil
}

// guard is what refuses a damaged data directory (package datadir): the
// files only an earlier run leaves, the store's file on SQLite.
func (a *App) guard() datadir.Guard {
	g := datadir.Guard{Dir: a.cfg.DataDir, Traces: []string{queue.StoreDir, datadir.QueueFile, CredentialsFile, instanceFile}}
	if a.cfg.PostgresURL == "" {
		g.StoreFile = engine.SQLiteFile
	}
	return g
}

// openQueue opens the queue. The embedded one refuses to start empty where
// an earlier run kept its store (datadir.Guard.BeforeQueue).
func (a *App) openQueue(ctx context.Context) error {
	embedded := a.cfg.NATSURL == ""
	if embedded {
		if err := a.guard().BeforeQueue(queue.StoreDir); err != nil {
			return err
		}
	}
	var err error
	a.queue, err = queue.Open(ctx, queue.Config{
		URL:        a.cfg.NATSURL,
		Namespace:  a.cfg.NATSNamespace,
		Embedded:   queue.EmbeddedConfig{DataDir: a.cfg.DataDir, SyncAlways: !a.cfg.RelaxedSync},
		Partitions: a.cfg.Partitions,
		MaxBytes:   a.cfg.QueueMaxBytes,
		Replicas:   a.cfg.Replicas,
		Reconcile:  a.cfg.ReconcileStream,
	}, a.log, func(n int) { a.metrics.EnqueueBatchSize.Observe(float64(n)) })
	if err != nil || !embedded {
		return err
	}
	if err := a.checkQueueMarks(ctx); err != nil {
		return err
	}
	return a.guard().AfterQueue(queue.StoreDir)
}

// startProcessing makes the first-start credentials, loads the ticket code
// keys and, in the process role, starts the partition consumers.
func (a *App) startProcessing(ctx context.Context) error {
	var err error
	if a.cfg.Bootstrap {
		if a.Bootstrapped, err = bootstrap(ctx, a.db, a.cfg.DataDir, a.cfg.Clock); err != nil {
			return err
		}
	}
	if a.codes, err = passes.LoadCodes(ctx, a.db, a.cfg.Clock); err != nil {
		return fmt.Errorf("ticket code keys: %w", err)
	}
	a.proc = processor.New(a.db, signedCodes{a.codes}, a.metrics, a.log, a.cfg.Clock, processor.WithTracing(a.cfg.Tracing))
	depth := func(p int, pending uint64) {
		a.metrics.QueueDepth.WithLabelValues(strconv.Itoa(p)).Set(float64(pending))
	}
	a.metrics.Registry.MustRegister(newPendingCollector(a.queue, a.log), newCapacityCollector(a.queue, a.db, a.cfg.DataDir, a.log))
	if a.cfg.Has(RoleProcess) {
		handle := progressHandler(a.progress.track(a.proc.HandleBatch), a.metrics.PartitionProgress, a.queue.Partitions(), a.cfg.Clock)
		if a.consumers, err = a.queue.Consume(ctx, handle, depth); err != nil {
			return err
		}
	}
	return nil
}

// startComponents builds the receiver and the admin API and starts the
// optional components, collecting their routes.
func (a *App) startComponents(ctx context.Context) (*ingest.Receiver, *auth.Authenticator, error) {
	trusted, err := ingest.ParseTrustedProxies(a.cfg.TrustedProxies)
	if err != nil {
		return nil, nil, fmt.Errorf("trusted proxies: %w", err)
	}
	a.trusted = trusted
	if a.catalog, err = events.Load(); err != nil {
		return nil, nil, fmt.Errorf("event catalog: %w", err)
	}
	recv := ingest.NewReceiver(a.db, a.queue, a.sealer,
		ingest.Config{MaxBodyBytes: a.cfg.MaxBodyBytes, TrustedProxies: trusted, Receivers: a.cfg.IngestReceivers},
		ingest.Options{Logger: a.log, Metrics: a.metrics, Now: a.cfg.Clock, Schemas: a.catalog.InboundValidator(), Tracing: a.cfg.Tracing})
	if a.cfg.AdminToken != "" {
		if err := admin.RegisterBootstrapToken(ctx, a.db, a.cfg.AdminToken, a.cfg.Clock(), a.log); err != nil {
			return nil, nil, err
		}
	}
	a.adminRoutes = admin.NewAPI(a.db, a.log, a.cfg.Clock, recv.ForgetSource).Routes()
	a.authn = auth.NewAuthenticator(a.db, a.cfg.Clock, a.log)
	for _, build := range componentConstructors() {
		c, err := build(a)
		if err != nil {
			return nil, nil, err
		}
		if c == nil {
			continue
		}
		if err := c.Start(ctx); err != nil {
			return nil, nil, err
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
	return recv, a.authn, nil
}

// listen binds cfg.Addr and serves in a goroutine.
func (a *App) listen(recv *ingest.Receiver, authn *auth.Authenticator) error {
	a.http = &http.Server{
		Handler:           a.routes(recv, authn),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	var err error
	if a.listener, err = net.Listen("tcp", a.cfg.Addr); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	go func() { a.served <- a.http.Serve(a.listener) }()
	return a.serveMetrics()
}

// startBackground starts dedupe pruning and, in the process role, hold expiry.
func (a *App) startBackground(ctx context.Context) {
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopBg = cancel
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		a.pruneDedupe(bgCtx)
	}()
	if a.cfg.Has(RoleProcess) {
		a.bg.Add(1)
		go func() {
			defer a.bg.Done()
			a.expireHolds(bgCtx)
		}()
	}
	if a.marks != nil {
		a.bg.Add(1)
		go func() {
			defer a.bg.Done()
			a.followQueueMarks(bgCtx)
		}()
	}
}

// signedCodes mints Ed25519-signed ticket codes that scanners can verify
// offline (docs/ticket-codes.md).
type signedCodes struct{ codes *passes.Codes }

func (s signedCodes) IssueCode(t usher.Ticket) (string, error) {
	return s.codes.Issue(ticketcode.Claims{TicketID: t.TicketID, ShowID: t.ShowID, VenueID: t.VenueID, Generation: t.Generation})
}

// Codes returns the ticket code authority.
func (a *App) Codes() *passes.Codes { return a.codes }

// openSealer loads the master keys that seal secrets and personal data at
// rest. A key file is followed while usher runs, so that `usher keys
// rotate-master` reaches a running process (docs/keys.md).
func openSealer(cfg Config, log *slog.Logger, firstStart bool) (*secrets.Keyring, error) {
	switch {
	case cfg.MasterKey != "":
		keys, err := secrets.ParseKeys(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("master key: %w", err)
		}
		return secrets.NewKeyring(keys...)
	case cfg.MasterKeyFile != "":
		return secrets.OpenKeyFile(cfg.MasterKeyFile)
	}
	path := filepath.Join(cfg.DataDir, "master.key")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && !firstStart {
		// A new key beside an earlier run's store would open none of the
		// secrets sealed with the old one.
		return nil, datadir.Guard{Dir: cfg.DataDir}.KeyFileMissing(path)
	}
	_, created, err := secrets.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if created {
		log.Warn("development mode: generated a master key beside the data; set USHER_MASTER_KEY in production", "path", path)
	}
	return secrets.OpenKeyFile(path)
}

func openStore(ctx context.Context, cfg Config) (*store.DB, error) {
	return engine.Open(ctx, cfg.PostgresURL, cfg.DataDir)
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
func (a *App) AdminRoutes() []auth.Route { return a.adminRoutes }

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
	if a.metricsHTTP != nil {
		_ = a.metricsHTTP.Close() // scrapes hold nothing worth draining
	}
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
		if a.marks != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			a.updateQueueMarks(ctx, true) // exactly what the streams hold at the stop
			cancel()
		}
		a.queue.Close()
	}
	if a.db != nil {
		_ = a.db.Close()
	}
	_ = a.lock.Release() // last: nothing may touch the directory after
}

// expireHolds releases lapsed order.created holds every 15 seconds.
func (a *App) expireHolds(ctx context.Context) {
	periodic.Every(ctx, 15*time.Second, false, func(ctx context.Context) {
		if n, err := a.proc.ExpireHolds(ctx, a.cfg.Clock()); err != nil && ctx.Err() == nil {
			a.log.Warn("hold expiry failed", "err", err)
		} else if n > 0 {
			a.log.Info("holds expired", "orders", n)
		}
	})
}

// pruneDedupe deletes dedupe records older than the retention, hourly, in
// small batches so that it never holds the writer for long.
func (a *App) pruneDedupe(ctx context.Context) {
	periodic.Every(ctx, time.Hour, true, func(ctx context.Context) {
		_, err := periodic.Drain(ctx, 1000, func(ctx context.Context, limit int) (int64, error) {
			return a.db.PruneInbound(ctx, a.cfg.Clock().Add(-a.cfg.DedupeRetention), limit)
		})
		if err != nil && ctx.Err() == nil {
			a.log.Warn("dedupe prune failed", "err", err)
		}
	})
}

// shortDedupeRetention is the retention below which usher warns at start:
// some senders retry for 30 days (Adyen), and a retry that arrives after
// its dedupe record was pruned is applied again.
const shortDedupeRetention = 30 * 24 * time.Hour

// warnShortRetention logs a warning when the dedupe retention is shorter
// than some senders' retry horizon.
func warnShortRetention(cfg Config, log *slog.Logger) {
	if cfg.DedupeRetention < shortDedupeRetention {
		log.Warn("dedupe retention is below 30 days: a sender that retries for longer (Adyen retries for 30 days) can have an event applied twice",
			"dedupe_retention", cfg.DedupeRetention.String(), "recommended_min", shortDedupeRetention.String())
	}
}
