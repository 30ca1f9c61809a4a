package loadgen

import (
	"testing"
	"time"
)

func TestSummarizeReadsTheBurst(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	samples := []Sample{
		{At: at(0), Accepted: 10, Processed: 10, RSSBytes: 50, CPU: 1},
		{At: at(1), Accepted: 110, Processed: 40, RSSBytes: 80, CPU: 2},
		{At: at(2), Accepted: 210, Processed: 90, RSSBytes: 70, CPU: 3}, // backlog 120: the peak
		{At: at(3), Accepted: 220, Processed: 150, RSSBytes: 60, CPU: 4},
		{At: at(4), Accepted: 230, Processed: 225, RSSBytes: 60, CPU: 5}, // past 220, accepted when the burst ended
	}
	b := Summarize(samples, at(2.5))
	if b.PeakBacklog != 120 || b.PeakAt != 2*time.Second {
		t.Errorf("peak = %v at %v, want 120 at 2s", b.PeakBacklog, b.PeakAt)
	}
	if b.Drain != 1500*time.Millisecond {
		t.Errorf("drain = %v, want 1.5s (from 2.5s to the sample at 4s)", b.Drain)
	}
	if b.Accepted != 210 || b.PeakRSSBytes != 80 || b.CPUSeconds != 4 {
		t.Errorf("accepted %v, peak RSS %v, CPU %v; want 210, 80, 4", b.Accepted, b.PeakRSSBytes, b.CPUSeconds)
	}
	if got := BacklogAt(samples, at(3.5)); got != 70 {
		t.Errorf("backlog at 3.5s = %v, want 70 (the sample at 3s)", got)
	}
	if never := Summarize(samples[:3], at(1.5)); never.Drain >= 0 {
		t.Errorf("drain of a backlog never cleared = %v, want negative", never.Drain)
	}
}
