package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/usherhq/usher/internal/delivery"
	"github.com/usherhq/usher/internal/server"
)

// setting is one configuration knob: its flag, its environment variable and
// how to set it from text. Precedence: flag, then environment, then file.
type setting struct {
	flag, env, usage string
	set              func(c *server.Config, v string) error
}

func settings() []setting {
	str := func(f func(*server.Config) *string) func(*server.Config, string) error {
		return func(c *server.Config, v string) error { *f(c) = v; return nil }
	}
	num := func(f func(*server.Config) *int64) func(*server.Config, string) error {
		return func(c *server.Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			*f(c) = n
			return err
		}
	}
	return append([]setting{
		{"addr", "USHER_ADDR", "HTTP listen address (default 127.0.0.1:8080)", str(func(c *server.Config) *string { return &c.Addr })},
		{"data-dir", "USHER_DATA_DIR", "data directory for SQLite and the embedded JetStream (default ./usher-data)", str(func(c *server.Config) *string { return &c.DataDir })},
		{"nats-url", "USHER_NATS_URL", "external NATS server; empty runs one embedded", str(func(c *server.Config) *string { return &c.NATSURL })},
		{"nats-namespace", "USHER_NATS_NAMESPACE", "name prefix of usher's stream, subjects and consumers in NATS (default usher)", str(func(c *server.Config) *string { return &c.NATSNamespace })},
		{"postgres-url", "USHER_POSTGRES_URL", "PostgreSQL URL; empty keeps state in SQLite", str(func(c *server.Config) *string { return &c.PostgresURL })},
		{"admin-token", "USHER_ADMIN_TOKEN", "bootstrap admin bearer token: registered once as an every-scope token, listed and revocable (usher token list|revoke)", str(func(c *server.Config) *string { return &c.AdminToken })},
		{"metrics-addr", "USHER_METRICS_ADDR", "serve /metrics without a token on this address (private network); on --addr it needs metrics:read", str(func(c *server.Config) *string { return &c.MetricsAddr })},
		{"log-level", "USHER_LOG_LEVEL", "debug, info, warn or error (default info)", str(func(c *server.Config) *string { return &c.LogLevel })},
		{"log-format", "USHER_LOG_FORMAT", "json or text (default json)", str(func(c *server.Config) *string { return &c.LogFormat })},
		{"partitions", "USHER_PARTITIONS", "inbound stream partitions (default 2 with the embedded NATS, 8 with an external one)", func(c *server.Config, v string) error {
			n, err := strconv.Atoi(v)
			c.Partitions = n
			return err
		}},
		{"replicas", "USHER_REPLICAS", "replicas of the inbound stream (default 3 on a NATS cluster of 3 or more, else 1)", func(c *server.Config, v string) error {
			n, err := strconv.Atoi(v)
			c.Replicas = n
			return err
		}},
		{"reconcile-stream", "USHER_RECONCILE_STREAM", "true: update a stream found with other settings instead of refusing to start", func(c *server.Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.ReconcileStream = b
			return err
		}},
		{"ingest-receivers", "USHER_INGEST_RECEIVERS", "ingest processes sharing the webhooks: each admits 1/N of every source's rate limit (default 1)", func(c *server.Config, v string) error {
			n, err := strconv.Atoi(v)
			c.IngestReceivers = n
			return err
		}},
		{"queue-max-bytes", "USHER_QUEUE_MAX_BYTES", "inbound stream size cap in bytes (default 1 GiB)", num(func(c *server.Config) *int64 { return &c.QueueMaxBytes })},
		{"max-body-bytes", "USHER_MAX_BODY_BYTES", "largest accepted webhook body (default 1 MiB)", num(func(c *server.Config) *int64 { return &c.MaxBodyBytes })},
		{"relaxed-sync", "USHER_RELAXED_SYNC", "true: do not fsync each enqueue before answering (faster, less durable)", func(c *server.Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.RelaxedSync = b
			return err
		}},
		{"master-key-file", "USHER_MASTER_KEY_FILE", "file holding the base64 master key that seals secrets at rest (or env USHER_MASTER_KEY)", str(func(c *server.Config) *string { return &c.MasterKeyFile })},
		{"master-key", "USHER_MASTER_KEY", "base64 master key (prefer the environment or a file over a flag)", str(func(c *server.Config) *string { return &c.MasterKey })},
		{"production", "USHER_PRODUCTION", "true: refuse to start without an explicit master key", func(c *server.Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Production = b
			return err
		}},
		{"trusted-proxies", "USHER_TRUSTED_PROXIES", "comma-separated CIDRs whose X-Forwarded-For (and, for the console cookie, X-Forwarded-Proto) is believed", func(c *server.Config, v string) error {
			c.TrustedProxies = strings.Split(v, ",")
			return nil
		}},
		{"roles", "USHER_ROLES", "comma-separated roles of this process: ingest, process (default both)", func(c *server.Config, v string) error {
			c.Roles = strings.Split(v, ",")
			return nil
		}},
		{"dedupe-retention", "USHER_DEDUPE_RETENTION", "how long dedupe records are kept (default 840h = 35 days)", func(c *server.Config, v string) error {
			d, err := time.ParseDuration(v)
			c.DedupeRetention = d
			return err
		}},
	}, componentSettings()...)
}

// componentSettings are the settings of the delivery lanes and the pass
// service, kept in Config.Delivery and Config.PassesConfig.
func componentSettings() []setting {
	dur := func(f func(*server.Config) *time.Duration) func(*server.Config, string) error {
		return func(c *server.Config, v string) (err error) { *f(c), err = time.ParseDuration(v); return err }
	}
	integer := func(f func(*server.Config) *int) func(*server.Config, string) error {
		return func(c *server.Config, v string) (err error) { *f(c), err = strconv.Atoi(v); return err }
	}
	return []setting{
		{"delivery-retry-schedule", "USHER_DELIVERY_RETRY_SCHEDULE", "delays before each delivery retry, e.g. 5s,5m,30m,2h (default 5s,5m,30m,2h,5h,10h,10h)", func(c *server.Config, v string) (err error) {
			c.Delivery.RetrySchedule, err = delivery.ParseSchedule(v)
			return err
		}},
		{"delivery-connect-timeout", "USHER_DELIVERY_CONNECT_TIMEOUT", "bound of a delivery connection (default 5s)", dur(func(c *server.Config) *time.Duration { return &c.Delivery.ConnectTimeout })},
		{"delivery-timeout", "USHER_DELIVERY_TIMEOUT", "bound of a whole delivery attempt (default 15s)", dur(func(c *server.Config) *time.Duration { return &c.Delivery.Timeout })},
		{"delivery-concurrency", "USHER_DELIVERY_CONCURRENCY", "attempts one subscription's lane makes at once (default 8)", integer(func(c *server.Config) *int { return &c.Delivery.Concurrency })},
		{"delivery-poll-interval", "USHER_DELIVERY_POLL_INTERVAL", "how often the outbox is read when nothing wakes the lanes (default 500ms)", dur(func(c *server.Config) *time.Duration { return &c.Delivery.PollInterval })},
		{"delivery-breaker-failures", "USHER_DELIVERY_BREAKER_FAILURES", "failed attempts in a row that open a lane's breaker (default 5)", integer(func(c *server.Config) *int { return &c.Delivery.BreakerFailures })},
		{"delivery-breaker-timeout", "USHER_DELIVERY_BREAKER_TIMEOUT", "how long an open breaker waits before a probe (default 60s)", dur(func(c *server.Config) *time.Duration { return &c.Delivery.BreakerTimeout })},
		{"delivery-replay-rate", "USHER_DELIVERY_REPLAY_RATE", "replayed deliveries re-queued per second (default 500)", func(c *server.Config, v string) (err error) {
			c.Delivery.ReplayRate, err = strconv.ParseFloat(v, 64)
			return err
		}},
		{"delivery-retention", "USHER_DELIVERY_RETENTION", "how long finished deliveries and attempts are kept (default 720h)", dur(func(c *server.Config) *time.Duration { return &c.Delivery.Retention })},
		{"allow-private-destinations", "USHER_ALLOW_PRIVATE_DESTINATIONS", "true: deliver to loopback, private and link-local addresses (never cloud metadata)", func(c *server.Config, v string) (err error) {
			c.Delivery.AllowPrivate, err = strconv.ParseBool(v)
			return err
		}},
		{"public-url", "USHER_PUBLIC_URL", "base of pass URLs, e.g. https://tickets.example.com (default: the request's scheme and host)", func(c *server.Config, v string) error {
			c.PublicURL = v
			return nil
		}},
		{"pass-ttl", "USHER_PASS_TTL", "default lifetime of a pass URL (default 15m)", dur(func(c *server.Config) *time.Duration { return &c.PassTTL })},
		{"pass-max-ttl", "USHER_PASS_MAX_TTL", "longest lifetime a pass URL may ask for (default 24h)", dur(func(c *server.Config) *time.Duration { return &c.PassMaxTTL })},
		{"trace-url-template", "USHER_TRACE_URL_TEMPLATE", "link of a trace id on the console's journey page, {trace_id} replaced, e.g. http://jaeger:16686/trace/{trace_id}", func(c *server.Config, v string) error {
			c.TraceURLTemplate = v
			return nil
		}},
	}
}

// loadConfig binds the configuration flags to fs, parses args and loads
// the configuration (see bindConfig).
func loadConfig(fs *pflag.FlagSet, args []string, getenv func(string) string) (server.Config, error) {
	load := bindConfig(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return server.Config{}, err
	}
	return load()
}

// bindConfig adds --config and one flag per setting to fs; once fs is
// parsed, the function it returns reads the YAML file (--config or
// USHER_CONFIG), then the environment, then the flags. A setting that
// parses as a boolean is a boolean flag: --relaxed-sync alone means true
// and never swallows the next argument.
func bindConfig(fs *pflag.FlagSet, getenv func(string) string) func() (server.Config, error) {
	configPath := fs.String("config", getenv("USHER_CONFIG"), "YAML config file (env USHER_CONFIG)")
	flagValues := map[string]string{}
	for _, s := range settings() {
		fs.Func(s.flag, s.usage+" (env "+s.env+")", func(v string) error {
			flagValues[s.flag] = v
			return nil
		})
		if isBoolSetting(s) {
			fs.Lookup(s.flag).NoOptDefVal = "true"
		}
	}
	return func() (server.Config, error) { return readConfig(*configPath, flagValues, getenv) }
}

// isBoolSetting tells a boolean setting by what it accepts: true and false,
// and nothing else.
func isBoolSetting(s setting) bool {
	var c server.Config
	return s.set(&c, "true") == nil && s.set(&c, "false") == nil && s.set(&c, "maybe") != nil
}

func readConfig(configPath string, flagValues map[string]string, getenv func(string) string) (server.Config, error) {
	var cfg server.Config
	if configPath != "" {
		raw, err := os.ReadFile(configPath)
		if err != nil {
			return server.Config{}, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return server.Config{}, fmt.Errorf("config file %s: %w", configPath, err)
		}
	}
	for _, s := range settings() {
		if v := getenv(s.env); v != "" {
			if err := s.set(&cfg, v); err != nil {
				return server.Config{}, fmt.Errorf("%s=%q: %w", s.env, v, err)
			}
		}
	}
	for _, s := range settings() {
		if v, ok := flagValues[s.flag]; ok {
			if err := s.set(&cfg, v); err != nil {
				return server.Config{}, fmt.Errorf("--%s=%q: %w", s.flag, v, err)
			}
		}
	}
	return cfg, nil
}
