package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/console"
	"github.com/usherhq/usher/internal/delivery"
	"github.com/usherhq/usher/internal/passes"
	"github.com/usherhq/usher/internal/telemetry"
)

// Config is everything `usher serve` can be told, from flags, USHER_*
// environment variables or a config file. Each field's default is given.
type Config struct {
	// Addr is the HTTP listen address. Default 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// DataDir holds the SQLite database and the embedded JetStream store.
	// Default ./usher-data.
	DataDir string `yaml:"data_dir"`
	// NATSURL connects to an external NATS server; empty runs one embedded.
	NATSURL string `yaml:"nats_url"`
	// PostgresURL keeps the state in PostgreSQL; empty uses SQLite in DataDir.
	PostgresURL string `yaml:"postgres_url"`
	// NATSNamespace names usher's stream, subjects and consumers in NATS, so
	// that deployments can share a cluster. Default usher.
	NATSNamespace string `yaml:"nats_namespace"`
	// Partitions of the inbound stream. Default 2 with the embedded NATS
	// (one SQLite writer applies everything, and fewer partitions make
	// bigger group commits: docs/benchmarks.md), 8 with an external one.
	Partitions int `yaml:"partitions"`
	// Replicas of the inbound stream and of everything else usher keeps in
	// NATS. Default: 3 when the external NATS is a cluster of at least three
	// servers, 1 on a single node (with a warning at start), 1 embedded.
	Replicas int `yaml:"replicas"`
	// ReconcileStream updates a stream found in NATS with other settings
	// (replicas, size cap) instead of refusing to start. Default false.
	ReconcileStream bool `yaml:"reconcile_stream"`
	// IngestReceivers is how many ingest processes share the webhooks
	// behind a balancer: each admits 1/IngestReceivers of every source's
	// rate limit, so the deployment keeps the configured rate. Default 1.
	IngestReceivers int `yaml:"ingest_receivers"`
	// RelaxedSync lets the embedded JetStream sync on its own schedule instead
	// of before every acknowledgement. Faster; an OS crash can then lose
	// acknowledged webhooks. Default false: every 202 is on disk.
	RelaxedSync bool `yaml:"relaxed_sync"`
	// QueueMaxBytes caps the inbound stream; when it is full the receiver
	// answers 503. Default 1 GiB.
	QueueMaxBytes int64 `yaml:"queue_max_bytes"`
	// AdminToken, when set, is registered at start as a stored token holding
	// every scope (description "bootstrap (--admin-token)"): listed and
	// revocable like any other. A revoked one stays revoked although it is
	// still set; a secret already stored as another token keeps its scopes.
	AdminToken string `yaml:"admin_token"`
	// MetricsAddr, when set, serves /metrics without a token on a second
	// listener, for a private network. On Addr /metrics needs a bearer
	// token holding metrics:read. Default none.
	MetricsAddr string `yaml:"metrics_addr"`
	// MaxBodyBytes is the largest accepted webhook body. Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// DedupeRetention is how long dedupe records are kept; it must outlast
	// every sender's retry horizon (Stripe 3 days, Adyen 30). Default 35 days;
	// at least 72h, and below 30 days usher warns at start.
	DedupeRetention time.Duration `yaml:"dedupe_retention"`
	// Bootstrap creates a demo source and an admin token in an empty store
	// and writes them to DataDir/demo-credentials.json. Default false; `usher
	// serve` turns it on.
	Bootstrap bool `yaml:"bootstrap"`
	// MasterKey (base64 of 32 bytes) seals source secrets at rest with
	// AES-256-GCM. MasterKeyFile names a file holding it instead.
	MasterKey     string `yaml:"master_key"`
	MasterKeyFile string `yaml:"master_key_file"`
	// Production refuses to start without an explicit master key. Without
	// it, a single-process usher on SQLite keeps a generated key in
	// DataDir/master.key (development); with PostgreSQL, where processes
	// must share the key, an explicit key is always required.
	Production bool `yaml:"production"`
	// TrustedProxies are the peers (CIDRs) whose X-Forwarded-For names the
	// client for source allowlists. Default none: the peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Clock replaces time.Now, for tests.
	Clock func() time.Time `yaml:"-"`
	// Tracing traces every event from receipt to delivery; nil is off.
	// `usher serve` builds it from the OTEL_* environment variables
	// (telemetry.NewTracing); tests pass an in-memory recorder.
	Tracing *telemetry.Tracing `yaml:"-"`
	// TraceURLTemplate links a traced event's trace id on the console's
	// journey page to the tracing backend: {trace_id} in it is replaced by
	// the id, e.g. http://jaeger:16686/trace/{trace_id}
	// (USHER_TRACE_URL_TEMPLATE). Default none: the id alone is shown.
	TraceURLTemplate string `yaml:"trace_url_template"`
	// Roles this process plays: "ingest" (the receiver), "process" (the
	// partition consumers). Default both. At scale, processes can split them.
	Roles []string `yaml:"roles"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// LogFormat is json or text. Default json.
	LogFormat string `yaml:"log_format"`
	// ShutdownTimeout bounds the graceful drain on SIGTERM. Default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Delivery configures the outbound delivery lanes (USHER_DELIVERY_*,
	// USHER_ALLOW_PRIVATE_DESTINATIONS; YAML key delivery). Unset fields
	// keep the defaults of delivery.Config.
	Delivery delivery.Config `yaml:"delivery"`
	// PublicURL is the base of pass URLs (USHER_PUBLIC_URL). Default: the
	// scheme and host of the request that makes the pass.
	PublicURL string `yaml:"public_url"`
	// PassTTL is a pass URL's default lifetime (USHER_PASS_TTL). Default 15m.
	PassTTL time.Duration `yaml:"pass_ttl"`
	// PassMaxTTL is the longest lifetime a pass URL may ask for
	// (USHER_PASS_MAX_TTL). Default 24h.
	PassMaxTTL time.Duration `yaml:"pass_max_ttl"`
}

// PassesConfig returns the settings of the pass service.
func (c Config) PassesConfig() passes.Config {
	return passes.Config{PublicURL: c.PublicURL, PassTTL: c.PassTTL, MaxPassTTL: c.PassMaxTTL}
}

// WithDefaults returns the config with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "usher-data"
	}
	if c.Partitions == 0 {
		c.Partitions = 2
		if c.NATSURL != "" {
			c.Partitions = 8
		}
	}
	if c.QueueMaxBytes == 0 {
		c.QueueMaxBytes = 1 << 30
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.DedupeRetention == 0 {
		c.DedupeRetention = 35 * 24 * time.Hour
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.LogFormat == "" {
		c.LogFormat = "json"
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if len(c.Roles) == 0 {
		c.Roles = []string{RoleIngest, RoleProcess}
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	return c
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Partitions < 1 || c.Partitions > 1024 {
		errs = append(errs, fmt.Errorf("partitions %d: want 1..1024", c.Partitions))
	}
	if c.Replicas < 0 || c.Replicas > 5 || c.NATSURL == "" && c.Replicas > 1 {
		errs = append(errs, fmt.Errorf("replicas %d: want 1..5, and 1 with the embedded NATS", c.Replicas))
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 4<<20 {
		errs = append(errs, fmt.Errorf("max body bytes %d: want 1 KiB..4 MiB", c.MaxBodyBytes))
	}
	if c.DedupeRetention < 72*time.Hour {
		errs = append(errs, fmt.Errorf("dedupe retention %s: must outlast provider retries (at least 72h)", c.DedupeRetention))
	}
	if c.MasterKey == "" && c.MasterKeyFile == "" && (c.Production || c.PostgresURL != "") {
		errs = append(errs, errors.New("a master key is required (USHER_MASTER_KEY or --master-key-file) in production and with PostgreSQL"))
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		errs = append(errs, errors.New("admin token: use at least 16 characters"))
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("log level %q: %w", c.LogLevel, err))
	}
	for _, r := range c.Roles {
		if r != RoleIngest && r != RoleProcess {
			errs = append(errs, fmt.Errorf("role %q: want %s or %s", r, RoleIngest, RoleProcess))
		}
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("log format %q: want json or text", c.LogFormat))
	}
	if err := c.Delivery.WithDefaults().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("delivery: %w", err))
	}
	if err := c.PassesConfig().WithDefaults().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("passes: %w", err))
	}
	if err := validTraceURLTemplate(c.TraceURLTemplate); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Process roles.
const (
	RoleIngest  = "ingest"
	RoleProcess = "process"
)

// Has reports whether the process plays role.
func (c Config) Has(role string) bool { return slices.Contains(c.Roles, role) }

// Level returns the parsed log level (info if invalid).
func (c Config) Level() slog.Level {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return lvl
}

// validTraceURLTemplate accepts "" or an http(s) URL naming the trace id by
// console.TraceIDPlaceholder.
func validTraceURLTemplate(tpl string) error {
	if tpl == "" {
		return nil
	}
	u, err := url.Parse(strings.ReplaceAll(tpl, console.TraceIDPlaceholder, "0"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.Contains(tpl, console.TraceIDPlaceholder) {
		return fmt.Errorf("trace URL template %q: want an http(s) URL holding %s", tpl, console.TraceIDPlaceholder)
	}
	return nil
}
