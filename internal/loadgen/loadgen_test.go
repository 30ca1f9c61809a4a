package loadgen

import (
	"context"
	"testing"
	"time"
)

// TestEveryPhaseSends: the maximum rate, then a quiet rate, against the
// bare handler; each phase must send (a shared attacker stopped after the
// first phase, and the quiet phase of the on-sale scenario sent nothing).
func TestEveryPhaseSends(t *testing.T) {
	url, stop, err := StartBaseline()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var ended []string
	res, err := Run(context.Background(), Config{
		URL: url, Source: "s", Secret: []byte("test-secret-32-bytes-long-enough!"), Show: "show", Venue: "venue", TicketType: "GA",
		Workers: 2, Peak: 200 * time.Millisecond, Quiet: 300 * time.Millisecond, QuietRate: 50,
		PhaseEnd: func(name string, _ time.Time) { ended = append(ended, name) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.PhaseRequests["max"] == 0 || res.PhaseRequests["quiet"] == 0 {
		t.Fatalf("requests by phase = %v, want both phases to send", res.PhaseRequests)
	}
	if len(ended) != 2 || ended[0] != "max" || ended[1] != "quiet" {
		t.Fatalf("phases ended = %v, want max then quiet", ended)
	}
	// The ramp and its peak, at a rate.
	res, err = Run(context.Background(), Config{
		URL: url, Source: "s", Secret: []byte("test-secret-32-bytes-long-enough!"), Show: "show", Venue: "venue", TicketType: "GA",
		Workers: 2, Rate: 100, Ramp: 200 * time.Millisecond, Peak: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.PhaseRequests["ramp"] == 0 || res.PhaseRequests["peak"] == 0 {
		t.Fatalf("requests by phase = %v, want the ramp and the peak to send", res.PhaseRequests)
	}
}
