package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/invariant"
	"github.com/usherhq/usher/internal/loadgen"
)

// onSaleReport is what the on-sale scenario adds to the report: a burst at
// the maximum rate, then a quiet rate, and what the server did with it.
type onSaleReport struct {
	BurstSeconds float64 `json:"burst_seconds"`
	QuietSeconds float64 `json:"quiet_seconds"`
	QuietRate    int     `json:"quiet_rate"`
	// BurstAcceptedPerS is the rate accepted during the burst.
	BurstAcceptedPerS float64 `json:"burst_accepted_per_second"`
	PeakBacklog       float64 `json:"peak_backlog_events"`
	PeakBacklogAtS    float64 `json:"peak_backlog_at_seconds"`
	// DrainSeconds runs from the end of the burst until everything
	// accepted by then was processed; -1 when that did not happen while
	// the run was watched.
	DrainSeconds float64 `json:"drain_after_burst_seconds"`
	// EndBacklog is the backlog when the quiet phase ended: what the
	// quiet rate still found queued.
	EndBacklog float64 `json:"backlog_at_end_events"`
	PeakRSSMB  float64 `json:"peak_resident_memory_mb"`
	// CPUSeconds is the CPU time of the usher process over the run (with
	// an in-process usher it includes the load generator).
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUCores   float64 `json:"cpu_cores_average"`
	// Checked is false for a usher at --url, whose store this command
	// cannot read; the fields below are then empty.
	Checked     bool     `json:"checked"`
	Violations  []string `json:"invariant_violations"`
	ExactlyOnce []string `json:"exactly_once_failures"`
}

// Passed reports whether the checks after the run found nothing wrong.
func (r onSaleReport) Passed() bool { return len(r.Violations) == 0 && len(r.ExactlyOnce) == 0 }

// phaseEnds are when the on-sale phases ended.
type phaseEnds struct{ burst, quiet time.Time }

// onSaleConfig makes cfg the on-sale profile and notes when its phases end.
func (o *benchOptions) onSaleConfig(cfg *loadgen.Config, ends *phaseEnds) {
	cfg.Rate, cfg.Ramp, cfg.Peak = 0, 0, o.burst
	cfg.Quiet, cfg.QuietRate = o.quiet, o.quietRate
	cfg.PhaseEnd = func(name string, at time.Time) {
		switch name {
		case "max":
			ends.burst = at
		case "quiet":
			ends.quiet = at
		}
	}
}

// onSaleFigures reads the burst out of the samples and, for an in-process
// usher, stops it and checks its store: the inventory invariants of `usher
// check` and the exactly-once counts.
func (o *benchOptions) onSaleFigures(ctx context.Context, samples []loadgen.Sample, ends phaseEnds, res loadgen.Result, stopApp func()) (*onSaleReport, error) {
	b := loadgen.Summarize(samples, ends.burst)
	r := &onSaleReport{
		BurstSeconds: o.burst.Seconds(), QuietSeconds: o.quiet.Seconds(), QuietRate: o.quietRate,
		PeakBacklog: b.PeakBacklog, PeakBacklogAtS: b.PeakAt.Seconds(), DrainSeconds: -1,
		PeakRSSMB: b.PeakRSSBytes / (1 << 20), CPUSeconds: b.CPUSeconds,
		Violations: []string{}, ExactlyOnce: []string{}, BurstAcceptedPerS: b.Accepted / o.burst.Seconds(),
	}
	if b.Drain >= 0 {
		r.DrainSeconds = b.Drain.Seconds()
	}
	if !ends.quiet.IsZero() {
		r.EndBacklog = loadgen.BacklogAt(samples, ends.quiet)
	}
	if len(samples) > 1 {
		r.CPUCores = b.CPUSeconds / samples[len(samples)-1].At.Sub(samples[0].At).Seconds()
	}
	if stopApp == nil {
		return r, nil
	}
	stopApp()
	r.Checked = true
	return r, checkStore(ctx, o.dataDir, res, r)
}

// checkStore checks the stopped usher's store after the run.
func checkStore(ctx context.Context, dataDir string, res loadgen.Result, r *onSaleReport) error {
	db, err := openReadOnly(ctx, dataDir, "")
	if err != nil {
		return err
	}
	defer db.Close()
	violations, err := invariant.Check(ctx, db)
	if err != nil {
		return err
	}
	for _, v := range violations {
		r.Violations = append(r.Violations, fmt.Sprint(v))
	}
	counts, err := db.CountInbound(ctx)
	if err != nil {
		return err
	}
	tickets, err := db.CountTickets(ctx)
	if err != nil {
		return err
	}
	return exactlyOnce(res, total(counts), counts[usher.OutcomeApplied], total(tickets), r)
}

func total[K comparable](counts map[K]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// exactlyOnce compares what was sent with what the store holds: one dedupe
// record per distinct event id, however often it was sent, and one ticket
// per order.paid (the load buys one seat per order). With failed requests
// an event may never have arrived, so only the upper bounds hold.
func exactlyOnce(res loadgen.Result, records, applied, tickets int, r *onSaleReport) error {
	unique, orders := int(res.Unique), len(res.Orders)
	failed := res.Requests - res.Accepted
	switch {
	case failed == 0 && records != unique:
		r.ExactlyOnce = append(r.ExactlyOnce, fmt.Sprintf("%d dedupe records for %d distinct events sent", records, unique))
	case records > unique:
		r.ExactlyOnce = append(r.ExactlyOnce, fmt.Sprintf("%d dedupe records for at most %d distinct events", records, unique))
	}
	switch {
	case failed == 0 && tickets != orders:
		r.ExactlyOnce = append(r.ExactlyOnce, fmt.Sprintf("%d tickets for %d paid orders of one seat", tickets, orders))
	case tickets > orders:
		r.ExactlyOnce = append(r.ExactlyOnce, fmt.Sprintf("%d tickets for at most %d paid orders of one seat", tickets, orders))
	}
	if applied > unique {
		r.ExactlyOnce = append(r.ExactlyOnce, fmt.Sprintf("%d events applied of %d distinct", applied, unique))
	}
	return nil
}

func printOnSale(w io.Writer, r onSaleReport) {
	drain := "not drained while watched"
	if r.DrainSeconds >= 0 {
		drain = fmt.Sprintf("drained %.2f s after the burst", r.DrainSeconds)
	}
	fmt.Fprintf(w, "on-sale: %.0f s at the maximum rate (%.0f accepted/s), then %d/s for %.0f s; backlog peak %.0f events at %.1f s; %s; backlog %.0f when the quiet phase ended\n",
		r.BurstSeconds, r.BurstAcceptedPerS, r.QuietRate, r.QuietSeconds, r.PeakBacklog, r.PeakBacklogAtS, drain, r.EndBacklog)
	fmt.Fprintf(w, "on-sale: peak RSS %.0f MB; CPU %.1f s (%.2f cores on average, load generator included when in-process)\n",
		r.PeakRSSMB, r.CPUSeconds, r.CPUCores)
	if !r.Checked {
		fmt.Fprintln(w, "on-sale: store not checked (usher at --url)")
		return
	}
	for _, v := range r.Violations {
		fmt.Fprintln(w, "on-sale: VIOLATION", v)
	}
	for _, v := range r.ExactlyOnce {
		fmt.Fprintln(w, "on-sale: EXACTLY-ONCE", v)
	}
	if r.Passed() {
		fmt.Fprintln(w, "on-sale: OK: inventory invariants hold; one dedupe record per distinct event, one ticket per paid order")
	}
}
