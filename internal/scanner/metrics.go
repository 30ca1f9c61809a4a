package scanner

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/usherhq/usher"
)

// freshnessBuckets span 1 ms to an hour, with the reference SLO (30 s) as a
// bucket bound so that its attainment reads straight off the histogram.
var freshnessBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}

type metrics struct {
	scans     *prometheus.CounterVec   // venue, mode, result
	alerts    *prometheus.CounterVec   // venue, alert
	freshness *prometheus.HistogramVec // venue, event_type
	commitLag *prometheus.HistogramVec // venue, event_type
	connected *prometheus.GaugeVec     // venue
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usher_scans_total",
			Help: "Scans recorded, by venue, mode (online, offline) and result as first recorded.",
		}, []string{"venue", "mode", "result"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usher_scan_alerts_total",
			Help: "Operator alerts raised by offline reconciliation (duplicate_entry, admitted_while_revoked), by venue.",
		}, []string{"venue", "alert"}),
		freshness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "usher_scanner_freshness_seconds",
			Help:    "Time from acceptance of the webhook behind a ticket change to the first time a feed read (page or stream) served it to a scanner of its venue.",
			Buckets: freshnessBuckets,
		}, []string{"venue", "event_type"}),
		commitLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "usher_scanner_commit_lag_seconds",
			Help:    "Time from acceptance of the webhook behind a ticket change to the commit of its feed entry; observed with the freshness.",
			Buckets: freshnessBuckets,
		}, []string{"venue", "event_type"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "usher_scanner_connected",
			Help: "Scanners holding a feed stream open on this process, by venue.",
		}, []string{"venue"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.scans, m.alerts, m.freshness, m.commitLag, m.connected} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// eventType names what a feed entry records, for the metric labels: the
// entry carries the ticket's new status, not the inbound event type, so an
// order.paid shows as ticket.issued.
func eventType(status string) string {
	switch usher.TicketStatus(status) {
	case usher.TicketValid:
		return usher.TypeTicketIssued
	case usher.TicketRevoked:
		return usher.TypeTicketRevoked
	case usher.TicketAdmitted:
		return usher.TypeTicketAdmitted
	}
	return "ticket." + status
}

// served records that a feed read has just handed changes to a scanner of
// the venue. The store's delivered mark makes the first serving of each
// change, across every process, the one that observes its freshness.
func (s *Service) served(ctx context.Context, venue string, changes []usher.TicketChange) {
	if len(changes) == 0 {
		return
	}
	last := changes[len(changes)-1].Seq
	s.marksMu.Lock()
	known := s.marks[venue]
	s.marksMu.Unlock()
	if last <= known {
		return
	}
	now := s.now()
	prev, err := s.db.AdvanceFeedDelivered(context.WithoutCancel(ctx), venue, last, now)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.log.Warn("advance delivered mark", "venue", venue, "err", err)
		}
		return
	}
	s.marksMu.Lock()
	s.marks[venue] = max(s.marks[venue], prev, last)
	s.marksMu.Unlock()
	for _, c := range changes {
		if c.Seq <= prev || c.AcceptedAt.IsZero() {
			continue
		}
		typ := eventType(c.Status)
		s.metrics.freshness.WithLabelValues(venue, typ).Observe(now.Sub(c.AcceptedAt).Seconds())
		s.metrics.commitLag.WithLabelValues(venue, typ).Observe(c.ChangedAt.Sub(c.AcceptedAt).Seconds())
	}
}
