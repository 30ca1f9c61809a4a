package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/telemetry"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("usher serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
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
	fmt.Fprintf(w, "Send a signed order.paid webhook:\n  go run ./cmd/usher send --url %s --data-dir %s order.paid\n", app.URL(), cfg.DataDir)
	fmt.Fprintf(w, "Then read the order it names:\n  curl -H \"Authorization: Bearer $(sed -n 's/.*\"admin_token\": \"\\(.*\\)\".*/\\1/p' %s)\" %s/v1/orders/ORDER_ID\n", creds, app.URL())
}

// flushTraces exports the spans still buffered when usher stops.
func flushTraces(t *telemetry.Tracing, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		log.Warn("flush traces", "err", err)
	}
}
