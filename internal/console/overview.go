package console

import (
	"context"
	"net/http"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/problem"
)

// sampleEvery is how often the console reads the counters its rates come
// from.
const sampleEvery = 15 * time.Second

// sample is a reading of the counters the overview turns into rates.
type sample struct {
	at                        time.Time
	received, rejected, apply float64
}

// rates keeps the last two samples.
type rates struct {
	mu         sync.Mutex
	prev, last sample
}

func (c *Console) sample(ctx context.Context) {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		c.takeSample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Console) takeSample() {
	if c.d.Gatherer == nil {
		return
	}
	mfs, err := c.d.Gatherer.Gather()
	if err != nil {
		return // a partial gather is still useful next time
	}
	s := sample{at: c.d.Now()}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "usher_inbound_requests_total":
			for _, m := range mf.GetMetric() {
				if label(m, "outcome") == "accepted" || label(m, "outcome") == "duplicate" {
					s.received += m.GetCounter().GetValue()
				} else {
					s.rejected += m.GetCounter().GetValue()
				}
			}
		case "usher_processed_events_total":
			s.apply += sum(mf)
		}
	}
	c.rates.mu.Lock()
	c.rates.prev, c.rates.last = c.rates.last, s
	c.rates.mu.Unlock()
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func sum(mf *dto.MetricFamily) float64 {
	var n float64
	for _, m := range mf.GetMetric() {
		n += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return n
}

// Rates are per-second rates between the console's last two samples;
// Known is false until there are two.
type Rates struct {
	Known                     bool
	Received, Rejected, Apply float64
	Window                    time.Duration
}

func (c *Console) currentRates() Rates {
	c.rates.mu.Lock()
	defer c.rates.mu.Unlock()
	p, l := c.rates.prev, c.rates.last
	dt := l.at.Sub(p.at).Seconds()
	if p.at.IsZero() || dt <= 0 {
		return Rates{}
	}
	return Rates{Known: true, Received: (l.received - p.received) / dt, Rejected: (l.rejected - p.rejected) / dt,
		Apply: (l.apply - p.apply) / dt, Window: l.at.Sub(p.at)}
}

// gauges reads the queue backlog and the processing lag's last average.
func (c *Console) gauges() (backlog float64, lag float64) {
	if c.d.Gatherer == nil {
		return 0, 0
	}
	mfs, err := c.d.Gatherer.Gather()
	if err != nil {
		return 0, 0
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "usher_queue_depth":
			backlog = sum(mf)
		case "usher_processing_lag_seconds":
			var s float64
			var n uint64
			for _, m := range mf.GetMetric() {
				s, n = s+m.GetHistogram().GetSampleSum(), n+m.GetHistogram().GetSampleCount()
			}
			if n > 0 {
				lag = s / float64(n)
			}
		}
	}
	return backlog, lag
}

type overviewPage struct {
	Rates           Rates
	Backlog, LagAvg float64
	DLQ             map[string]int
	DLQTotal        int
	Trouble         []laneRow
	Venues          []venueRow
	Now             time.Time
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, v *view) {
	page := overviewPage{Rates: c.currentRates(), Now: c.d.Now()}
	page.Backlog, page.LagAvg = c.gauges()
	if v.Can(auth.ScopeDLQRead) {
		open, err := c.d.Store.OpenDeadLetters(r.Context())
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		page.DLQ = open
		for _, n := range open {
			page.DLQTotal += n
		}
	}
	if v.Can(auth.ScopeSubsRead) && c.d.Lanes != nil {
		rows, err := c.laneRows(r)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		for _, row := range rows {
			if row.Trouble() {
				page.Trouble = append(page.Trouble, row)
			}
		}
	}
	venues, err := c.venueRows(r, v, false)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	page.Venues = venues
	c.render(w, r, "overview", v, page)
}

// venueRow is a venue's feed freshness, devices and offline conflicts.
type venueRow struct {
	ID        string
	Feed      usher.FeedState
	Lag       time.Duration // age of the oldest change no scanner has read
	Fresh     bool
	Devices   []usher.DeviceActivity
	Conflicts []usher.Scan
}

// freshnessSLO is the reference objective of docs/gates.md: a change is
// visible in the scanner feed within 30 s. A venue whose oldest unread
// change is older is out of it.
const freshnessSLO = 30 * time.Second

// venueRows lists the venues the caller may see (scanner:<venue>).
func (c *Console) venueRows(r *http.Request, v *view, detail bool) ([]venueRow, error) {
	ctx := r.Context()
	ids, err := c.d.Store.Venues(ctx)
	if err != nil {
		return nil, err
	}
	var rows []venueRow
	for _, id := range ids {
		if !v.Can(auth.ScopeScannerPrefix + id) {
			continue
		}
		row := venueRow{ID: id}
		if row.Feed, err = c.d.Store.FeedState(ctx, id); err != nil {
			return nil, err
		}
		if !row.Feed.OldestUndelivered.IsZero() {
			row.Lag = c.d.Now().Sub(row.Feed.OldestUndelivered)
		}
		row.Fresh = row.Lag <= freshnessSLO
		if detail {
			if row.Devices, err = c.d.Store.Devices(ctx, id); err != nil {
				return nil, err
			}
			if row.Conflicts, err = c.d.Store.ScanConflicts(ctx, id, 100); err != nil {
				return nil, err
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (c *Console) venues(w http.ResponseWriter, r *http.Request, v *view) {
	rows, err := c.venueRows(r, v, true)
	if err != nil {
		problem.Fail(w, r, err)
		return
	}
	c.render(w, r, "venues", v, map[string]any{"Rows": rows, "Now": c.d.Now(), "SLO": freshnessSLO})
}
