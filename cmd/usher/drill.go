package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/drill"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/webhook"
)

const drillUsage = `usage: usher drill venue-outage [flags]

Plays a night at several venues against a usher started in this process on a
temporary data directory: payments, refunds and scans in simulated time, one
venue's scanners offline for --outage while they keep scanning from their copy
of the feed, then back online to upload and catch up. It prints the catch-up
time, events replayed per second, the feed's freshness, and whether the final
state equals that of an always-online twin venue with no admission lost or
doubled; it fails when a check does.
`

func runDrill(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "venue-outage" {
		fmt.Fprint(stderr, drillUsage)
		return errors.New("usher drill: name a drill (venue-outage)")
	}
	fs := flag.NewFlagSet("usher drill venue-outage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, drillUsage); fs.PrintDefaults() }
	var cfg drill.Config
	fs.IntVar(&cfg.Venues, "venues", 2, "venues that stay online, beside the outage venue and its always-online twin")
	fs.IntVar(&cfg.Scanners, "scanners", 3, "scanners per venue")
	fs.IntVar(&cfg.Orders, "orders", 150, "orders per venue (1 to 3 tickets each)")
	fs.Float64Var(&cfg.RefundRatio, "refunds", 0.1, "share of orders refunded")
	fs.Float64Var(&cfg.DuplicateRatio, "duplicates", 0.05, "share of holders whose code is presented again at another gate")
	fs.DurationVar(&cfg.Doors, "doors", 0, "simulated time the doors are open (default 45m)")
	fs.DurationVar(&cfg.OutageStart, "outage-start", 0, "simulated time after the doors open when the outage begins (default 10m)")
	fs.DurationVar(&cfg.Outage, "outage", 0, "simulated length of the outage (default 12m)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the script")
	relaxed := fs.Bool("relaxed-sync", false, "do not fsync each enqueue before acknowledging")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg.Progress = stderr
	dir, err := os.MkdirTemp("", "usher-drill-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	token := usher.NewID("drill-")
	log := telemetry.NewLogger(stderr, slog.LevelWarn, "text")
	app, err := server.Start(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: dir, Bootstrap: true, AdminToken: token, RelaxedSync: *relaxed}, log)
	if err != nil {
		return err
	}
	defer func() { _ = app.Shutdown(context.WithoutCancel(ctx)) }()
	secret, err := webhook.DecodeSecret(app.Bootstrapped.Secret)
	if err != nil {
		return fmt.Errorf("demo secret: %w", err)
	}
	rep, err := drill.Run(ctx, cfg, drill.Target{URL: app.URL(), AdminToken: token, Source: app.Bootstrapped.Source, Secret: secret, Store: app.Store()})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.Print(stdout)
	}
	if !rep.OK() {
		return errors.New("the drill failed its checks")
	}
	return nil
}
