package delivery

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Delivery outcomes counted by usher_deliveries_total.
const (
	outcomeDelivered    = "delivered"
	outcomeRetry        = "retry_scheduled"
	outcomeDeadLettered = "dead_lettered"
)

// metrics are the delivery instruments. The gauges are read from the store
// and the lanes when Prometheus scrapes.
type metrics struct {
	deliveries *prometheus.CounterVec   // subscription_id, outcome
	latency    *prometheus.HistogramVec // class
	svc        *Service

	pending  *prometheus.Desc
	breakers *prometheus.Desc
	dlq      *prometheus.Desc
}

func newMetrics(reg prometheus.Registerer, svc *Service) (*metrics, error) {
	m := &metrics{
		svc: svc,
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usher_deliveries_total",
			Help: "Delivery attempts by subscription and outcome (delivered, retry_scheduled, dead_lettered).",
		}, []string{"subscription_id", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "usher_delivery_attempt_seconds",
			Help:    "Time of one delivery attempt, by result class (2xx, 3xx, 4xx, 5xx, error).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"class"}),
		pending: prometheus.NewDesc("usher_delivery_pending",
			"Deliveries waiting for an attempt or a retry, by subscription.", []string{"subscription_id"}, nil),
		breakers: prometheus.NewDesc("usher_delivery_breaker_state",
			"Circuit breaker of each lane in this process: 0 closed, 1 half-open, 2 open.", []string{"subscription_id"}, nil),
		dlq: prometheus.NewDesc("usher_dead_letters",
			"Dead letters not replayed, by stage.", []string{"stage"}, nil),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.latency, m} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Describe implements prometheus.Collector for the gauges.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.pending
	ch <- m.breakers
	ch <- m.dlq
}

// Collect implements prometheus.Collector: it reads the pending deliveries
// and dead letters from the store, and each lane's breaker state.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if pending, err := m.svc.st.PendingDeliveries(ctx); err == nil {
		for sub, n := range pending {
			ch <- prometheus.MustNewConstMetric(m.pending, prometheus.GaugeValue, float64(n), sub)
		}
	}
	if open, err := m.svc.st.OpenDeadLetters(ctx); err == nil {
		for stage, n := range open {
			ch <- prometheus.MustNewConstMetric(m.dlq, prometheus.GaugeValue, float64(n), stage)
		}
	}
	for sub, state := range m.svc.breakerStates() {
		ch <- prometheus.MustNewConstMetric(m.breakers, prometheus.GaugeValue, float64(state), sub)
	}
}

func (m *metrics) attempt(subscriptionID, outcome string, r result, latency time.Duration) {
	m.deliveries.WithLabelValues(subscriptionID, outcome).Inc()
	m.latency.WithLabelValues(resultClass(r)).Observe(latency.Seconds())
}

func (m *metrics) forget(subscriptionID string) {
	m.deliveries.DeletePartialMatch(prometheus.Labels{"subscription_id": subscriptionID})
}

func resultClass(r result) string {
	switch {
	case r.err != nil:
		return "error"
	case r.status >= 500:
		return "5xx"
	case r.status >= 400:
		return "4xx"
	case r.status >= 300:
		return "3xx"
	}
	return "2xx"
}

// breakerValue is the gauge value of a breaker state.
func breakerValue(s gobreaker.State) int {
	switch s {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	}
	return 0
}
