package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/store"
)

// capacityCollector exports, at scrape time, what the queue, disk and
// subscription alerts watch: the inbound stream's bytes and cap, the free
// and total bytes of the data directory's file system, and the
// subscriptions by status.
type capacityCollector struct {
	q       *queue.Queue
	db      *store.DB
	dataDir string
	log     *slog.Logger

	queueBytes, queueMax, diskFree, diskSize, subs *prometheus.Desc
}

func newCapacityCollector(q *queue.Queue, db *store.DB, dataDir string, log *slog.Logger) *capacityCollector {
	return &capacityCollector{q: q, db: db, dataDir: dataDir, log: log,
		queueBytes: prometheus.NewDesc("usher_queue_bytes", "Bytes held by the fullest of the inbound partitions' streams (by share of its cap), read at scrape time.", nil, nil),
		queueMax:   prometheus.NewDesc("usher_queue_max_bytes", "Cap in bytes of the stream usher_queue_bytes reads; when full, webhooks of its partition are answered 503.", nil, nil),
		diskFree:   prometheus.NewDesc("usher_data_dir_free_bytes", "Bytes available to usher on the file system of the data directory.", nil, nil),
		diskSize:   prometheus.NewDesc("usher_data_dir_size_bytes", "Size in bytes of the file system of the data directory.", nil, nil),
		subs:       prometheus.NewDesc("usher_subscriptions", "Subscriptions by status (active, paused, disabled).", []string{"status"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *capacityCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queueBytes, c.queueMax, c.diskFree, c.diskSize, c.subs} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A part that does not answer
// within 2 s yields no sample: an absent series, not a false zero.
func (c *capacityCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if used, capacity, err := c.q.Usage(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.queueBytes, prometheus.GaugeValue, float64(used))
		ch <- prometheus.MustNewConstMetric(c.queueMax, prometheus.GaugeValue, float64(capacity))
	} else {
		c.log.Warn("queue usage for metrics", "err", err)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(c.dataDir, &fs); err == nil {
		ch <- prometheus.MustNewConstMetric(c.diskFree, prometheus.GaugeValue, float64(fs.Bavail)*float64(fs.Bsize))
		ch <- prometheus.MustNewConstMetric(c.diskSize, prometheus.GaugeValue, float64(fs.Blocks)*float64(fs.Bsize))
	}
	subs, err := c.db.Subscriptions(ctx)
	if err != nil {
		return
	}
	counts := map[string]int{usher.SubscriptionActive: 0, usher.SubscriptionPaused: 0, usher.SubscriptionDisabled: 0}
	for _, s := range subs {
		counts[s.Status]++
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.subs, prometheus.GaugeValue, float64(n), status)
	}
}
