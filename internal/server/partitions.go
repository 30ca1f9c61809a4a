package server

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/usherhq/usher/internal/queue"
)

// A partition that stops advancing is what a poison event used to cause:
// two signals let an alert (deploy/prometheus/usher-alerts.yml) name it —
// its backlog in the stream, and the last time a batch of it was applied.

// progressHandler wraps h so that every batch it applies marks its
// partition's progress at now; it marks every partition once at the start.
func progressHandler(h queue.Handler, progress *prometheus.GaugeVec, partitions int, now func() time.Time) queue.Handler {
	for p := range partitions {
		progress.WithLabelValues(strconv.Itoa(p)).Set(float64(now().Unix()))
	}
	return func(ctx context.Context, b queue.Batch) error {
		err := h(ctx, b)
		if err == nil {
			progress.WithLabelValues(strconv.Itoa(b.Partition)).Set(float64(now().Unix()))
		}
		return err
	}
}

// pendingCollector exports usher_partition_pending_messages: the stream
// messages of each partition not yet applied, read from the stream at
// scrape time, so every process reports the same backlog.
type pendingCollector struct {
	q interface {
		PartitionPending(context.Context) ([]uint64, error)
	}
	desc *prometheus.Desc
	log  *slog.Logger
}

func newPendingCollector(q *queue.Queue, log *slog.Logger) *pendingCollector {
	return &pendingCollector{q: q, log: log, desc: prometheus.NewDesc("usher_partition_pending_messages",
		"Stream messages (batches) of the partition not yet applied and acknowledged, read at scrape time.",
		[]string{"partition"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. A stream that does not answer
// within 2 s yields no sample: an absent series, not a false zero.
func (c *pendingCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pending, err := c.q.PartitionPending(ctx)
	if err != nil {
		c.log.Warn("partition backlog for metrics", "err", err)
		return
	}
	for p, n := range pending {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), strconv.Itoa(p))
	}
}
