package telemetry

import (
	"math"
	"regexp"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// latencyBuckets are the bounds of usher's latency histograms: six a
// decade from 100 µs to 1,000 s, rounded to three significant digits. A
// quantile past the last bound reads as that bound, so it lies well above
// every alert's threshold (deploy/prometheus: processing lag p99 > 30 s,
// which the 16 s top bound used before could never report). Each
// power of ten is a bound, so the share of acknowledgements under 10 ms or
// of events on the feed within 100 ms is read exactly, and a quantile is
// interpolated inside a bucket 47% wide (the powers of two used before put
// 10 ms inside [8 ms, 16 ms)).
func latencyBuckets() []float64 {
	const perDecade, decades = 6, 7
	b := make([]float64, 0, perDecade*decades+1)
	for k := range perDecade*decades + 1 {
		v := 1e-4 * math.Pow(10, float64(k)/perDecade)
		v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
		b = append(b, v)
	}
	return b
}

// Metrics holds every instrument usher exports. Create one per process with
// NewMetrics and pass it to the components that record.
type Metrics struct {
	Registry *prometheus.Registry

	InboundRequests  *prometheus.CounterVec   // source, outcome
	IngestAckSeconds *prometheus.HistogramVec // source
	KeyVerified      *prometheus.CounterVec   // source, key_id
	EnqueueBatchSize prometheus.Histogram
	ProcessedEvents  *prometheus.CounterVec   // type, outcome
	ProcessingLag    *prometheus.HistogramVec // type
	ProcessBatch     prometheus.Histogram
	QueueDepth       *prometheus.GaugeVec // partition
	// PartitionProgress is the unix time at which a partition's consumer in
	// this process last applied and acknowledged a batch (or started).
	PartitionProgress *prometheus.GaugeVec // partition
	// PaidToFeed is the time from the acceptance (the 202) of an order.paid
	// to the commit that makes its tickets readable in the venue's feed:
	// the freshness SLO's measure.
	PaidToFeed *prometheus.HistogramVec // venue
	// HTTPErrors counts the problem responses of every route by error code
	// (problem.Reporter).
	HTTPErrors *prometheus.CounterVec // code
}

// FreshnessBuckets resolve the 30 s freshness objective: fine below a
// second, and a bound at 30 s exactly.
var FreshnessBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 25, 30, 45, 60, 120, 300}

// NewMetrics registers usher's instruments, plus the Go runtime and process
// collectors, on a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.newEdgeMetrics()
	m.newProcessingMetrics()
	m.Registry.MustRegister(
		// Beside the defaults, how long runnable goroutines waited for a
		// core and how long the GC stopped the world: the first things to
		// read when acknowledgement latency has a tail.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/sched/(latencies|pauses/total/gc):seconds$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.InboundRequests, m.IngestAckSeconds, m.KeyVerified, m.EnqueueBatchSize,
		m.ProcessedEvents, m.ProcessingLag, m.ProcessBatch, m.QueueDepth,
		m.PartitionProgress, m.PaidToFeed, m.HTTPErrors,
	)
	return m
}

// newEdgeMetrics makes the HTTP, receiver and enqueue metrics.
func (m *Metrics) newEdgeMetrics() {
	m.HTTPErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "usher_http_errors_total",
		Help: "HTTP problem responses by error code, over every route.",
	}, []string{"code"})
	m.InboundRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "usher_inbound_requests_total",
		Help: "Inbound webhook requests by source and outcome (accepted, or the rejection code).",
	}, []string{"source", "outcome"})
	m.IngestAckSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "usher_ingest_ack_seconds",
		Help:    "Time from request arrival to the durable-enqueue acknowledgement, for accepted webhooks.",
		Buckets: latencyBuckets(),
	}, []string{"source"})
	m.KeyVerified = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "usher_inbound_key_verified_total",
		Help: "Accepted webhooks by the id of the source secret that verified them.",
	}, []string{"source", "key_id"})
	m.EnqueueBatchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "usher_enqueue_batch_events",
		Help:    "Events made durable by one stream write (group commit).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10),
	})
}

// newProcessingMetrics makes the queue, processing and freshness metrics.
func (m *Metrics) newProcessingMetrics() {
	m.ProcessedEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "usher_processed_events_total",
		Help: "Processed inbound events by type and outcome (applied, duplicate, id_reuse, ignored, set_aside).",
	}, []string{"type", "outcome"})
	m.ProcessingLag = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "usher_processing_lag_seconds",
		Help:    "Time from acceptance of an event to the commit of its effects.",
		Buckets: latencyBuckets(),
	}, []string{"type"})
	m.ProcessBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "usher_process_batch_seconds",
		Help:    "Time to apply one queued batch in one store transaction.",
		Buckets: latencyBuckets(),
	})
	m.QueueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "usher_queue_depth",
		Help: "Batches waiting in the inbound stream per partition, as last seen by its consumer.",
	}, []string{"partition"})
	m.PartitionProgress = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "usher_partition_last_progress_timestamp_seconds",
		Help: "Unix time at which this process last applied a batch of the partition (its consumer's start before the first).",
	}, []string{"partition"})
	m.PaidToFeed = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "usher_paid_to_feed_seconds",
		Help:    "Time from the acceptance of an order.paid to the commit that makes its tickets readable in the venue feed.",
		Buckets: FreshnessBuckets,
	}, []string{"venue"})
}
