package loadgen

import (
	"context"
	"sync"
	"time"
)

// Sample is one look at usher's counters during a run.
type Sample struct {
	At        time.Time
	Accepted  float64 // webhooks acknowledged (usher_inbound_requests_total{outcome="accepted"})
	Processed float64 // events applied, deduplicated or set aside (usher_processed_events_total)
	RSSBytes  float64 // process_resident_memory_bytes
	CPU       float64 // process_cpu_seconds_total
}

// Backlog is what was accepted and not yet processed.
func (s Sample) Backlog() float64 { return max(0, s.Accepted-s.Processed) }

// Watcher scrapes usher at a fixed interval until stopped.
type Watcher struct {
	url     string
	token   string
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []Sample
}

// Watch starts scraping url every interval.
func Watch(ctx context.Context, url, token string, interval time.Duration) *Watcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{url: url, token: token, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if snap, err := Scrape(ctx, url, token); err == nil {
				w.mu.Lock()
				w.samples = append(w.samples, sampleOf(snap))
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func sampleOf(s Snapshot) Sample {
	return Sample{
		At:        time.Now(),
		Accepted:  s.SumWhere("usher_inbound_requests_total", "outcome", "accepted"),
		Processed: s.Sum("usher_processed_events_total"),
		RSSBytes:  s.Sum("process_resident_memory_bytes"),
		CPU:       s.Sum("process_cpu_seconds_total"),
	}
}

// Stop ends the scraping, takes one last sample and returns the samples.
func (w *Watcher) Stop() []Sample {
	w.cancel()
	<-w.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if snap, err := Scrape(ctx, w.url, w.token); err == nil {
		w.samples = append(w.samples, sampleOf(snap))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples
}

// SumWhere adds up the series of a counter or gauge family whose label has
// the given value.
func (s Snapshot) SumWhere(name, label, value string) float64 {
	f, ok := s[name]
	if !ok {
		return 0
	}
	var total float64
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return total
}

// Burst is what a run of samples shows about a burst that ended at end.
type Burst struct {
	// PeakBacklog is the largest backlog seen, and PeakAt how long after
	// the first sample.
	PeakBacklog float64
	PeakAt      time.Duration
	// Drain is the time from the end of the burst until everything
	// accepted by then was processed (as seen at the first sample after
	// the end, so it may include up to one interval of later arrivals);
	// negative when that did not happen while watching.
	Drain time.Duration
	// PeakRSSBytes is the largest resident memory seen; CPUSeconds the
	// process CPU time between the first and last samples.
	PeakRSSBytes float64
	CPUSeconds   float64
	// Accepted counts what was accepted from the first sample to the first
	// sample after the end of the burst.
	Accepted float64
}

// BacklogAt returns the backlog of the last sample taken at or before t.
func BacklogAt(samples []Sample, t time.Time) float64 {
	b := 0.0
	for _, s := range samples {
		if s.At.After(t) {
			break
		}
		b = s.Backlog()
	}
	return b
}

// Summarize reads the burst out of samples.
func Summarize(samples []Sample, end time.Time) Burst {
	b := Burst{Drain: -1}
	if len(samples) == 0 {
		return b
	}
	target := -1.0
	for _, s := range samples {
		if bl := s.Backlog(); bl > b.PeakBacklog {
			b.PeakBacklog, b.PeakAt = bl, s.At.Sub(samples[0].At)
		}
		b.PeakRSSBytes = max(b.PeakRSSBytes, s.RSSBytes)
		if s.At.Before(end) {
			continue
		}
		if target < 0 {
			target = s.Accepted
			b.Accepted = s.Accepted - samples[0].Accepted
		}
		if b.Drain < 0 && s.Processed >= target {
			b.Drain = s.At.Sub(end)
		}
	}
	b.CPUSeconds = samples[len(samples)-1].CPU - samples[0].CPU
	return b
}
