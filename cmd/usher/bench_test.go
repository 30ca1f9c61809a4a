package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// TestOnSaleBenchChecksTheStoreAfterTheRun runs the on-sale scenario for a
// second of burst and a second of quiet rate against an in-process usher
// and reads its JSON report: the backlog is drained, and the checks after
// the run (inventory invariants, one dedupe record per distinct event, one
// ticket per paid order) ran on the store and passed. No figure of speed
// is asserted.
func TestOnSaleBenchChecksTheStoreAfterTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a usher for a few seconds")
	}
	rep := runBench(t, "--on-sale", "--burst", "1s", "--quiet", "1s", "--quiet-rate", "50")
	s := rep.OnSale
	if s == nil || !s.Checked || !s.Passed() {
		t.Fatalf("on-sale report = %+v, want the store checked and passing", s)
	}
	if rep.Usher.Accepted == 0 || rep.Usher.Unique == 0 || s.BurstAcceptedPerS <= 0 {
		t.Errorf("accepted %d, distinct %d, burst rate %v: want a load that was accepted", rep.Usher.Accepted, rep.Usher.Unique, s.BurstAcceptedPerS)
	}
	if s.DrainSeconds < 0 {
		t.Errorf("drain after the burst = %v, want the backlog drained while watched", s.DrainSeconds)
	}
	// Goroutines ran during the load, so the scheduler's wait has a
	// distribution (the figure itself is not asserted).
	if rep.SchedWaitP99ms <= 0 {
		t.Errorf("scheduler wait p99 = %v, want it read from the server's metrics", rep.SchedWaitP99ms)
	}
}

func TestIngestOnlyBenchLoadsTheReceiverAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a usher for a second")
	}
	rep := runBench(t, "--ingest-only", "--peak", "1s", "--rate", "100")
	if rep.Usher.Accepted == 0 || rep.EventsPerWrite <= 0 || !rep.DurableSync {
		t.Errorf("accepted %d, events/write %v, durable %v: want durable writes accepted", rep.Usher.Accepted, rep.EventsPerWrite, rep.DurableSync)
	}
	if rep.ProcessedPerS != 0 {
		t.Errorf("processed %v/s, want nothing processed without the processor", rep.ProcessedPerS)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bench", "--ingest-only", "--url", "http://127.0.0.1:1"}, func(string) string { return "" }, &out, &out); err == nil {
		t.Error("--ingest-only with --url: got no error, want it refused")
	}
}

// runBench runs usher bench in-process with args, 8 workers, no baseline and
// a JSON report, and returns the report.
func runBench(t *testing.T, args ...string) benchReport {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(append([]string{"bench"}, args...), "--baseline=false", "--workers", "8", "--json")
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("usher %v: %v\n%s", args, err, errOut.String())
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report %q: %v", out.String(), err)
	}
	return rep
}
