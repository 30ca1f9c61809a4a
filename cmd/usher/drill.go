package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"github.com/usherhq/usher"

	"github.com/usherhq/usher/internal/drill"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/webhook"
)

const drillLong = `Plays a night at several venues against a usher started in this process on a
temporary data directory: payments, refunds and scans in simulated time, one
venue's scanners offline for --outage while they keep scanning from their copy
of the feed, then back online to upload and catch up. It prints the catch-up
time, events replayed per second, the feed's freshness, and whether the final
state equals that of an always-online twin venue with no admission lost or
doubled; it fails when a check does.`

// newDrillCmd groups the game-day drills.
func newDrillCmd(e *env) *cobra.Command {
	return group("drill", "Game-day drills against an in-process usher", newDrillVenueOutageCmd(e))
}

// drillOptions are the flags of usher drill venue-outage.
type drillOptions struct {
	cfg             drill.Config
	relaxed, asJSON bool
}

func newDrillVenueOutageCmd(e *env) *cobra.Command {
	var o drillOptions
	cmd := &cobra.Command{
		Use:     "venue-outage",
		Short:   "A venue offline during doors, reconciled when it comes back",
		Long:    drillLong,
		Example: "  usher drill venue-outage\n  usher drill venue-outage --outage 20m --orders 500 --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), e.stdout, e.stderr)
		},
	}
	fs, cfg := cmd.Flags(), &o.cfg
	fs.IntVar(&cfg.Venues, "venues", 2, "venues that stay online, beside the outage venue and its always-online twin")
	fs.IntVar(&cfg.Scanners, "scanners", 3, "scanners per venue")
	fs.IntVar(&cfg.Orders, "orders", 150, "orders per venue (1 to 3 tickets each)")
	fs.Float64Var(&cfg.RefundRatio, "refunds", 0.1, "share of orders refunded")
	fs.Float64Var(&cfg.DuplicateRatio, "duplicates", 0.05, "share of holders whose code is presented again at another gate")
	fs.DurationVar(&cfg.Doors, "doors", 0, "simulated time the doors are open (default 45m)")
	fs.DurationVar(&cfg.OutageStart, "outage-start", 0, "simulated time after the doors open when the outage begins (default 10m)")
	fs.DurationVar(&cfg.Outage, "outage", 0, "simulated length of the outage (default 12m)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the script")
	fs.BoolVar(&o.relaxed, "relaxed-sync", false, "do not fsync each enqueue before acknowledging")
	fs.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	return cmd
}

// run plays the drill and prints its report.
func (o *drillOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	cfg := o.cfg
	cfg.Progress = stderr
	dir, err := os.MkdirTemp("", "usher-drill-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	token := usher.NewID("drill-")
	log := telemetry.NewLogger(stderr, slog.LevelWarn, "text")
	app, err := server.Start(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: dir, Bootstrap: true, AdminToken: token, RelaxedSync: o.relaxed}, log)
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
	if err := printReport(stdout, rep, o.asJSON, func(w io.Writer, r drill.Report) { r.Print(w) }); err != nil {
		return err
	}
	if !rep.OK() {
		return errors.New("the drill failed its checks")
	}
	return nil
}
