package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/usherhq/usher"

	"github.com/usherhq/usher/internal/loadgen"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/webhook"
)

// benchReport is what `usher bench --json` prints.
type benchReport struct {
	Usher            loadgen.Result  `json:"usher"`
	Baseline         *loadgen.Result `json:"baseline,omitempty"`
	RatioToBaseline  float64         `json:"accepted_ratio_to_baseline,omitempty"`
	ServerAckP50ms   float64         `json:"server_ack_p50_ms"`
	ServerAckP99ms   float64         `json:"server_ack_p99_ms"`
	FeedP50ms        float64         `json:"accept_to_feed_p50_ms"`
	FeedP99ms        float64         `json:"accept_to_feed_p99_ms"`
	FeedP999ms       float64         `json:"accept_to_feed_p999_ms"`
	EventsPerWrite   float64         `json:"events_per_stream_write"`
	DrainSeconds     float64         `json:"drain_after_load_seconds"`
	ProcessedPerS    float64         `json:"processed_per_second"`
	ResidentMemoryMB float64         `json:"resident_memory_mb"`
	// How long the server's runnable goroutines waited for a core (with an
	// in-process usher the load generator's too) and its GC pauses: what
	// an acknowledgement tail is made of when it is not the disk.
	// With an in-process usher they are read from the runtime itself; from
	// a usher at --url they come from /metrics, where the Go collector
	// keeps one bucket a decade, so a p99 there only names its decade.
	SchedWaitP99ms  float64       `json:"sched_wait_p99_ms"`
	SchedWaitP999ms float64       `json:"sched_wait_p999_ms"`
	GCPauseP99ms    float64       `json:"gc_pause_p99_ms"`
	RuntimeFigures  string        `json:"runtime_figures"` // "runtime" or "metrics (decade buckets)"
	DurableSync     bool          `json:"durable_sync"`
	OnSale          *onSaleReport `json:"on_sale,omitempty"`
}

// benchOptions are the flags of usher bench.
type benchOptions struct {
	url         string
	dataDir     string
	adminToken  string
	rate        int
	ramp        time.Duration
	peak        time.Duration
	workers     int
	dup         float64
	refunds     float64
	chargebacks float64
	baseline    bool
	relaxed     bool
	ingestOnly  bool
	partitions  int
	asJSON      bool
	cpuProfile  string
	onSale      bool
	burst       time.Duration
	quiet       time.Duration
	quietRate   int
}

func newBenchCmd(e *env) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:     "bench",
		Short:   "Load test a usher (or one started in-process) beside a bare net/http ceiling",
		Example: "  usher bench --peak 10s --workers 64\n  usher bench --url http://127.0.0.1:8080 --rate 2000 --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), e.stdout, e.stderr)
		},
	}
	fs := cmd.Flags()
	getenv := e.getenv
	fs.StringVar(&o.url, "url", getenv("USHER_URL"), "usher to load (default: start one in this process on a temporary data dir)")
	fs.StringVar(&o.dataDir, "data-dir", envOr(getenv, "USHER_DATA_DIR", "usher-data"), "credentials of the usher at --url")
	fs.StringVar(&o.adminToken, "admin-token", getenv("USHER_ADMIN_TOKEN"), "admin token (default: from the credentials file)")
	fs.IntVar(&o.rate, "rate", 0, "peak requests per second; 0 = as fast as the server takes them")
	fs.DurationVar(&o.ramp, "ramp", 0, "ramp from a tenth of --rate to --rate over this long")
	fs.DurationVar(&o.peak, "peak", 10*time.Second, "hold the peak rate this long")
	fs.IntVar(&o.workers, "workers", 64, "concurrent senders")
	fs.Float64Var(&o.dup, "duplicates", 0.1, "share of requests that resend an earlier event")
	fs.Float64Var(&o.refunds, "refunds", 0.05, "share of refunds of earlier orders")
	fs.Float64Var(&o.chargebacks, "chargebacks", 0.02, "share of chargebacks of earlier orders")
	fs.BoolVar(&o.baseline, "baseline", true, "also load a bare net/http 202 handler, the machine's ceiling, in the same run")
	fs.BoolVar(&o.relaxed, "relaxed-sync", false, "in-process usher only: do not fsync before acknowledging")
	fs.BoolVar(&o.ingestOnly, "ingest-only", false, "in-process usher only: run the receiver without the processor, to measure the durable ingest path alone (accepted events stay in the stream)")
	fs.IntVar(&o.partitions, "partitions", 0, "in-process usher only: partitions of the inbound stream (default: usher's default)")
	fs.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (with an in-process usher: server and load) to this file")
	fs.BoolVar(&o.onSale, "on-sale", false, "the on-sale scenario: the maximum rate for --burst, then --quiet-rate for --quiet; reports the backlog, its drain and, in-process, checks the invariants and exactly-once counts after")
	fs.DurationVar(&o.burst, "burst", 60*time.Second, "with --on-sale: how long to send at the maximum rate")
	fs.DurationVar(&o.quiet, "quiet", 30*time.Second, "with --on-sale: how long to send at --quiet-rate after the burst")
	fs.IntVar(&o.quietRate, "quiet-rate", 200, "with --on-sale: requests per second after the burst")
	return cmd
}

// run loads the target and prints the report.
func (o *benchOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if o.ingestOnly && (o.url != "" || o.onSale) {
		return errors.New("--ingest-only needs an in-process usher and no --on-sale")
	}
	log := telemetry.NewLogger(stderr, slog.LevelWarn, "text")
	source, secret := "", []byte(nil)
	var stopApp func() // stops the in-process usher; nil for one at --url
	if o.url == "" {
		dir, err := os.MkdirTemp("", "usher-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.adminToken = usher.NewID("bench-")
		cfg := server.Config{Addr: "127.0.0.1:0", DataDir: dir, Bootstrap: true, AdminToken: o.adminToken, RelaxedSync: o.relaxed, Partitions: o.partitions}
		if o.ingestOnly {
			cfg.Roles = []string{server.RoleIngest}
		}
		app, err := server.Start(ctx, cfg, log)
		if err != nil {
			return err
		}
		var once sync.Once
		stopApp = func() { once.Do(func() { _ = app.Shutdown(context.Background()) }) }
		defer stopApp()
		o.url, o.dataDir = app.URL(), dir
	}
	creds, err := readCredentials(o.dataDir)
	if err != nil {
		return err
	}
	if o.adminToken == "" {
		o.adminToken = creds.AdminToken
	}
	source = creds.Source
	if secret, err = webhook.DecodeSecret(creds.Secret); err != nil {
		return fmt.Errorf("credentials secret: %w", err)
	}
	show := usher.NewID("bench-")
	if err := putCapacity(ctx, o.url, o.adminToken, show, 10_000_000); err != nil {
		return err
	}
	cfg := loadgen.Config{
		URL: o.url, Source: source, Secret: secret, Show: show, Venue: "bench-venue", TicketType: "GA",
		Rate: o.rate, Ramp: o.ramp, Peak: o.peak, Workers: o.workers,
		DuplicateRatio: o.dup, RefundRatio: o.refunds, ChargebackRatio: o.chargebacks,
		Progress: func(p loadgen.Progress) {
			fmt.Fprintf(stderr, "\r%5.1fs sent %d accepted %d errors %d   ", p.Elapsed.Seconds(), p.Sent, p.Accepted, p.Errors)
		},
	}
	var ends phaseEnds
	if o.onSale {
		o.onSaleConfig(&cfg, &ends)
	}
	var rep benchReport
	if o.baseline {
		base, stop, err := loadgen.StartBaseline()
		if err != nil {
			return err
		}
		bcfg := cfg
		bcfg.URL, bcfg.Progress, bcfg.PhaseEnd, bcfg.Quiet = base, nil, nil, 0
		fmt.Fprintln(stderr, "baseline: bare net/http 202 handler …")
		b, err := loadgen.Run(ctx, bcfg)
		stop()
		if err != nil {
			return err
		}
		b.Target = "bare net/http 202"
		rep.Baseline = &b
	}
	before, err := loadgen.Scrape(ctx, o.url, o.adminToken)
	if err != nil {
		return err
	}
	rtBefore := loadgen.ReadRuntime(loadgen.SchedLatencies, loadgen.GCPauses)
	fmt.Fprintln(stderr, "usher …")
	watch := loadgen.Watch(ctx, o.url, o.adminToken, 250*time.Millisecond)
	res, err := loadgen.Run(ctx, cfg)
	fmt.Fprintln(stderr)
	if err != nil {
		watch.Stop()
		return err
	}
	rep.Usher = res
	loadEnd := time.Now()
	drained := float64(res.Accepted)
	if o.ingestOnly {
		drained = 0 // nothing processes: take the figures now
	}
	after, err := waitDrained(ctx, o.url, o.adminToken, before, drained)
	if err != nil {
		return err
	}
	rep.DrainSeconds = time.Since(loadEnd).Seconds()
	samples := watch.Stop()
	fillServerFigures(&rep, before, after, res)
	if stopApp != nil { // usher runs in this process: its runtime at full resolution
		fillRuntimeFigures(&rep, rtBefore, loadgen.ReadRuntime(loadgen.SchedLatencies, loadgen.GCPauses))
	}
	if o.onSale {
		if rep.OnSale, err = o.onSaleFigures(ctx, samples, ends, res, stopApp); err != nil {
			return err
		}
	}
	if rep.Baseline != nil && rep.Baseline.AcceptedPerS > 0 {
		rep.RatioToBaseline = res.AcceptedPerS / rep.Baseline.AcceptedPerS
		if rep.OnSale != nil { // the burst against the bare handler at its maximum
			rep.RatioToBaseline = rep.OnSale.BurstAcceptedPerS / rep.Baseline.AcceptedPerS
		}
	}
	rep.DurableSync = !o.relaxed
	if err := printReport(stdout, rep, o.asJSON, printBenchReport); err != nil {
		return err
	}
	if rep.OnSale != nil {
		if !rep.OnSale.Passed() {
			return errors.New("on-sale run: the checks after it failed")
		}
	}
	return nil
}

func printBenchReport(w io.Writer, rep benchReport) {
	printFigures(w, rep)
	if rep.OnSale != nil {
		printOnSale(w, *rep.OnSale)
	}
}

func fillServerFigures(rep *benchReport, before, after loadgen.Snapshot, res loadgen.Result) {
	_, _, ack := loadgen.HistogramDelta(before, after, "usher_ingest_ack_seconds", 0.5, 0.99)
	_, _, feed := loadgen.HistogramDelta(before, after, "usher_processing_lag_seconds", 0.5, 0.99, 0.999)
	_, batch, _ := loadgen.HistogramDelta(before, after, "usher_enqueue_batch_events")
	rep.ServerAckP50ms, rep.ServerAckP99ms = ack[0]*1000, ack[1]*1000
	// NaN (no event reached the feed, as with --ingest-only) reports as 0.
	rep.FeedP50ms, rep.FeedP99ms, rep.FeedP999ms = nanOr(feed[0])*1000, nanOr(feed[1])*1000, nanOr(feed[2])*1000
	rep.EventsPerWrite = batch
	processed := after.Sum("usher_processed_events_total") - before.Sum("usher_processed_events_total")
	rep.ProcessedPerS = processed / (res.Duration.Seconds() + rep.DrainSeconds)
	rep.ResidentMemoryMB = after.Sum("process_resident_memory_bytes") / (1 << 20)
	_, _, wait := loadgen.HistogramDelta(before, after, "go_sched_latencies_seconds", 0.99, 0.999)
	_, _, pause := loadgen.HistogramDelta(before, after, "go_sched_pauses_total_gc_seconds", 0.99)
	rep.SchedWaitP99ms, rep.SchedWaitP999ms, rep.GCPauseP99ms = nanOr(wait[0])*1000, nanOr(wait[1])*1000, nanOr(pause[0])*1000
	rep.RuntimeFigures = "metrics (decade buckets)"
}

// fillRuntimeFigures replaces the scheduler and GC figures read from
// /metrics with this process's runtime histograms between two reads.
func fillRuntimeFigures(rep *benchReport, before, after loadgen.RuntimeSnapshot) {
	wait := loadgen.RuntimeQuantiles(before, after, loadgen.SchedLatencies, 0.99, 0.999)
	pause := loadgen.RuntimeQuantiles(before, after, loadgen.GCPauses, 0.99)
	rep.SchedWaitP99ms, rep.SchedWaitP999ms, rep.GCPauseP99ms = nanOr(wait[0])*1000, nanOr(wait[1])*1000, nanOr(pause[0])*1000
	rep.RuntimeFigures = "runtime"
}

// waitDrained waits until the server has processed every accepted request.
func waitDrained(ctx context.Context, url, token string, before loadgen.Snapshot, accepted float64) (loadgen.Snapshot, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		after, err := loadgen.Scrape(ctx, url, token)
		if err != nil {
			return nil, err
		}
		if after.Sum("usher_processed_events_total")-before.Sum("usher_processed_events_total") >= accepted || time.Now().After(deadline) {
			return after, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func printFigures(w io.Writer, rep benchReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\taccepted/s\tack p50\tack p99\tack p99.9\trequests\terrors")
	row := func(r loadgen.Result) {
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f ms\t%.2f ms\t%.2f ms\t%d\t%v\n", r.Target, r.AcceptedPerS, r.P50ms, r.P99ms, r.P999ms, r.Requests, r.Errors)
	}
	if rep.Baseline != nil {
		row(*rep.Baseline)
	}
	row(rep.Usher)
	_ = tw.Flush()
	if rep.Baseline != nil {
		fmt.Fprintf(w, "usher / bare handler: %.2f of the ceiling\n", rep.RatioToBaseline)
	}
	fmt.Fprintf(w, "server: ack p50 %.2f ms, p99 %.2f ms; acceptance→venue feed p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n",
		rep.ServerAckP50ms, rep.ServerAckP99ms, rep.FeedP50ms, rep.FeedP99ms, nanOr(rep.FeedP999ms))
	fmt.Fprintf(w, "server: %.1f events per durable stream write; processed %.0f/s; drained %.2f s after the load; RSS %.0f MB; fsync before ack: %v\n",
		rep.EventsPerWrite, rep.ProcessedPerS, rep.DrainSeconds, rep.ResidentMemoryMB, rep.DurableSync)
	fmt.Fprintf(w, "server: a runnable goroutine waited for a core p99 %.2f ms, p99.9 %.2f ms; GC pause p99 %.2f ms (from the %s)\n",
		rep.SchedWaitP99ms, rep.SchedWaitP999ms, rep.GCPauseP99ms, rep.RuntimeFigures)
}

func nanOr(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

func putCapacity(ctx context.Context, url, token, show string, capacity int) error {
	body, _ := json.Marshal(map[string]int{"capacity": capacity})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url+"/v1/shows/"+show+"/inventory/GA", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("set bench capacity: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("set bench capacity: %d %s", resp.StatusCode, b)
	}
	return nil
}
