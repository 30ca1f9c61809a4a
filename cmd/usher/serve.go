package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/telemetry"
)

func newServeCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Run usher (embedded NATS JetStream + SQLite by default)",
		Long: "Runs the receiver, queue, processor, delivery and admin API. Every flag also has\n" +
			"an environment variable and a key in the --config YAML file; a flag wins over the\n" +
			"environment, which wins over the file. Tracing is configured by the standard\n" +
			"OpenTelemetry variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER, …) and is\n" +
			"off without them.",
		Example: "  usher serve\n  usher serve --addr 0.0.0.0:8080 --data-dir /var/lib/usher --relaxed-sync\n" +
			"  USHER_POSTGRES_URL=postgres://usher@db/usher usher serve --nats-url nats://nats:4222",
		Args: noArgs,
	}
	load := bindConfig(cmd.Flags(), e.getenv)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := load()
		if err != nil {
			return usageError{err}
		}
		return serve(cmd.Context(), cfg, e.getenv, e.stdout, e.stderr)
	}
	return cmd
}

// serve runs usher until a signal or the end of its HTTP server.
func serve(ctx context.Context, cfg server.Config, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	cfg = cfg.WithDefaults()
	cfg.Bootstrap = true
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := telemetry.NewLogger(stderr, cfg.Level(), cfg.LogFormat)
	// Libraries that print through the standard log package (and nats.go's
	// fallbacks, which usher replaces with handlers) must not break the JSON
	// log: route the process-wide default logger into usher's.
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if cfg.Tracing, err = telemetry.NewTracing(ctx, getenv, version); err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer flushTraces(cfg.Tracing, log)
	app, err := server.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	printBanner(stdout, app, cfg)
	select {
	case <-ctx.Done():
		log.Info("signal received, draining")
	case err := <-app.Served():
		log.Error("http server ended", "err", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	return app.Shutdown(shutdownCtx)
}

func printBanner(w io.Writer, app *server.App, cfg server.Config) {
	fmt.Fprintf(w, "usher is listening on %s (data in %s)\n", app.URL(), cfg.DataDir)
	creds := filepath.Join(cfg.DataDir, server.CredentialsFile)
	if app.Bootstrapped != nil {
		fmt.Fprintf(w, "First start: made source %q, show %q with %d %q seats, and an admin token; they are in %s (mode 0600).\n",
			app.Bootstrapped.Source, server.DemoShow, server.DemoCapacity, server.DemoTicketType, creds)
	}
	fmt.Fprintf(w, "Send a signed order.paid webhook (it prints the order_id it made up):\n  usher send --url %s --data-dir %s order.paid\n", app.URL(), cfg.DataDir)
	fmt.Fprintf(w, "Then read that order with the admin token:\n  export USHER_ADMIN_TOKEN=$(usher credentials token --data-dir %s)\n", cfg.DataDir)
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $USHER_ADMIN_TOKEN\" %s/v1/orders/<order_id>\n", app.URL())
}

// flushTraces exports the spans still buffered when usher stops.
func flushTraces(t *telemetry.Tracing, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		log.Warn("flush traces", "err", err)
	}
}
