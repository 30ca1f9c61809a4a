// Package queue is usher's durable inbound queue on NATS JetStream: events
// partitioned by order, a stream per partition, written with group commit
// (many concurrently accepted webhooks made durable by one stream write),
// read by one ordered consumer per partition and purged of what the
// consumers have applied.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/usherhq/usher"
)

// Config configures the queue. The zero value of each field means its default.
type Config struct {
	// URL of an external NATS server; empty starts the embedded one.
	URL string
	// Embedded configures the embedded server when URL is empty.
	Embedded EmbeddedConfig
	// Namespace names everything usher creates in NATS, so that several
	// deployments can share one cluster: streams <NAMESPACE>_INBOUND_<partition>,
	// subjects <namespace>.in.<partition> and <namespace>.probe.<partition>,
	// consumers <namespace>-processor-<partition>.
	// Letters, digits, _ and - only. Default usher.
	Namespace string
	// Partitions is the fixed number of partitions. Default 8. Changing it on a
	// stream that still holds messages strands the messages of removed partitions.
	Partitions int
	// Replicas of the stream (and of anything else usher keeps in NATS).
	// Default: 1 embedded; with an external server 3 when its cluster has at
	// least three servers, else 1 with a warning.
	Replicas int
	// Reconcile updates a stream found with other settings (replicas, size
	// cap) to this configuration; without it Open refuses to run with
	// ErrStreamMismatch. The embedded server always reconciles.
	Reconcile bool
	// MaxBytes caps the streams, shared evenly by the partitions; a full
	// stream refuses new messages and the receiver answers 503. Default 1 GiB.
	MaxBytes int64
	// MaxBatchEvents and MaxBatchBytes bound one group-commit write.
	// Defaults 256 events, 512 KiB.
	MaxBatchEvents int
	MaxBatchBytes  int
	// PublishTimeout bounds the wait for the stream's acknowledgement. Default 5s.
	PublishTimeout time.Duration
	// AckWait is how long a batch delivered to a consumer that died (a crash)
	// waits before it is redelivered; a live consumer extends it while it
	// works. It bounds how long a partition stalls after a crash. Default 5s.
	AckWait time.Duration
	// HandleTimeout bounds the application of one batch. Default 30s.
	HandleTimeout time.Duration
	// MaxInFlight is how many stream messages of one partition a consumer
	// takes and applies together when it is the partition's only consumer
	// (the embedded server: no other process can attach). Shared consumers
	// (an external server, several processes) take one message at a time,
	// which keeps a partition's order across processes. Default 32 (with up
	// to MaxBatchEvents each, one transaction stays within seconds).
	MaxInFlight int
	// PurgeInterval is how often the consumers purge what they have applied
	// from the stream (one write a partition, whatever it held). Default 1s.
	PurgeInterval time.Duration
}

// WithDefaults returns the config with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.Namespace == "" {
		c.Namespace = "usher"
	}
	if c.Partitions == 0 {
		c.Partitions = 8
	}
	if c.Replicas == 0 && c.URL == "" {
		c.Replicas = 1
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 1 << 30
	}
	if c.MaxBatchEvents == 0 {
		c.MaxBatchEvents = 256
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = 512 << 10
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 5 * time.Second
	}
	if c.AckWait == 0 {
		c.AckWait = 5 * time.Second
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 32
	}
	if c.PurgeInterval == 0 {
		c.PurgeInterval = time.Second
	}
	if c.HandleTimeout == 0 {
		c.HandleTimeout = 30 * time.Second
	}
	if c.URL == "" && c.Embedded.MaxStore == 0 {
		c.Embedded.MaxStore = 2 * c.MaxBytes
	}
	if c.Embedded.MinFreeBytes == 0 {
		c.Embedded.MinFreeBytes = 16 << 20
	}
	return c
}

// Validate reports a config that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Partitions < 1 || c.Partitions > 1024:
		return fmt.Errorf("queue partitions %d: want 1..1024", c.Partitions)
	case c.URL == "" && c.Embedded.DataDir == "":
		return errors.New("queue: embedded server needs a data directory")
	case !validNamespace(c.Namespace):
		return fmt.Errorf("queue namespace %q: use letters, digits, _ and -", c.Namespace)
	case c.Replicas < 0 || c.Replicas > 5:
		return fmt.Errorf("queue replicas %d: want 1..5 (NATS allows at most 5)", c.Replicas)
	case c.URL == "" && c.Replicas > 1:
		return fmt.Errorf("queue replicas %d: the embedded server is a single node; use an external NATS cluster for more", c.Replicas)
	case c.MaxBatchEvents < 1:
		return fmt.Errorf("queue max batch events %d: want at least 1", c.MaxBatchEvents)
	}
	return nil
}

// Queue is a connection to the inbound streams.
type Queue struct {
	cfg Config
	log *slog.Logger
	emb *embedded // nil with an external server
	nc  *nats.Conn
	js  jetstream.JetStream
	// streams holds each partition's stream; with the single stream of an
	// earlier usher (legacy) every entry is that stream.
	streams  []jetstream.Stream
	legacy   bool
	batchers []*batcher
	onBatch  func(events int)
	health   health
	// retention is the stream's: limits (purged by the consumers as they
	// apply) unless an earlier usher created it as a work queue.
	retention jetstream.RetentionPolicy
	applied   appliedMarks

	stopOnce sync.Once
	stop     chan struct{}
	wg       sync.WaitGroup
}

// Open connects (starting the embedded server if configured), creates or
// updates the stream and starts the group-commit writers. onBatch, if not
// nil, is told the size of every batch written.
func Open(ctx context.Context, cfg Config, log *slog.Logger, onBatch func(events int)) (*Queue, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	q := &Queue{cfg: cfg, log: log, stop: make(chan struct{}), onBatch: onBatch, applied: newAppliedMarks(cfg.Partitions)}
	q.health.kick = make(chan struct{}, 1)
	opts := append(clientLogging(log), nats.Name("usher"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	url := cfg.URL
	if url == "" {
		cfg.fitDisk(log)
		q.cfg = cfg
		emb, err := startSupervised(cfg.Embedded, log)
		if err != nil {
			return nil, err
		}
		q.emb = emb
		opts = append(opts, nats.InProcessServer(emb))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		q.shutdownServer()
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	q.nc = nc
	if q.js, err = jetstream.New(nc); err != nil {
		q.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := q.ensureStreams(ctx); err != nil {
		q.Close()
		return nil, err
	}
	q.warnSync(ctx)
	if err := q.purgeProbes(ctx); err != nil {
		q.Close()
		return nil, err
	}
	q.startWorkers()
	return q, nil
}

// startWorkers starts the write watcher, the embedded server's supervisor
// and one group-commit batcher per partition; Close waits for them.
func (q *Queue) startWorkers() {
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		q.watchWrites()
	}()
	if q.emb != nil {
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			q.emb.watch(q.stop)
		}()
	}
	q.batchers = make([]*batcher, q.cfg.Partitions)
	for p := range q.batchers {
		q.batchers[p] = newBatcher(q, p)
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			q.batchers[p].run()
		}()
	}
}

// checkPartitions refuses to run with fewer partitions than the streams
// hold unapplied messages for: those messages would never be consumed. On a
// limits stream, what the consumers of those partitions acknowledged is
// purged first.
func (q *Queue) checkPartitions(ctx context.Context) error {
	extra, refusal := q.extraPartitions(ctx)
	if refusal == nil || extra == nil || !q.purges() {
		return refusal
	}
	for p, st := range extra {
		floor, err := q.ackFloor(ctx, st, p)
		if err != nil {
			return err
		}
		if floor > 0 {
			if err := q.purgeThrough(ctx, st, p, floor); err != nil {
				return err
			}
		}
	}
	_, refusal = q.extraPartitions(ctx)
	return refusal
}

// extraPartitions returns the streams of the partitions beyond the
// configured ones that hold messages, with an error saying so when there
// are any (extra is nil when the streams could not be read).
func (q *Queue) extraPartitions(ctx context.Context) (map[int]jetstream.Stream, error) {
	extra := map[int]jetstream.Stream{}
	var refusal error
	found := func(st jetstream.Stream, p int, n uint64) {
		extra[p] = st
		refusal = fmt.Errorf("the stream holds %d unprocessed batches on partition %d, beyond the %d configured: start with --partitions %d until they drain", n, p, q.cfg.Partitions, p+1)
	}
	if q.legacy {
		counts, err := q.partitionMessages(ctx, q.streams[0])
		if err != nil {
			return nil, err
		}
		for p, n := range counts {
			if p >= q.cfg.Partitions && n > 0 {
				found(q.streams[0], p, n)
			}
		}
		return extra, refusal
	}
	names := q.js.StreamNames(ctx, jetstream.WithStreamListSubject(q.cfg.Namespace+".in.*"))
	for name := range names.Name() {
		p, err := strconv.Atoi(strings.TrimPrefix(name, q.legacyStreamName()+"_"))
		if err != nil || p < q.cfg.Partitions || name != q.streamName(p) {
			continue
		}
		st, err := q.js.Stream(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		if n := st.CachedInfo().State.Msgs; n > 0 {
			found(st, p, n)
		}
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	return extra, refusal
}

// Replicas returns the stream's replica count.
func (q *Queue) Replicas() int { return q.cfg.Replicas }

// Partitions returns the partition count.
func (q *Queue) Partitions() int { return q.cfg.Partitions }

// Server returns the embedded server, or nil with an external one.
func (q *Queue) Server() *server.Server {
	if q.emb == nil {
		return nil
	}
	return q.emb.current()
}

func (q *Queue) subject(p int) string { return q.cfg.Namespace + ".in." + strconv.Itoa(p) }

func (q *Queue) consumerName(p int) string {
	return q.cfg.Namespace + "-processor-" + strconv.Itoa(p)
}

func validNamespace(ns string) bool {
	for _, r := range ns {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return ns != ""
}

// PartitionOf returns the partition of an event: by order id, or by event id
// for events that name no order.
func (q *Queue) PartitionOf(ev *usher.InboundEvent) int {
	key := ev.OrderID
	if key == "" {
		key = ev.Source + "/" + ev.ID
	}
	return Partition(key, q.cfg.Partitions)
}

// Close stops the writers (failing writes still waiting), drains the
// connection and stops the embedded server. Consumers must be stopped first.
func (q *Queue) Close() {
	q.stopOnce.Do(func() { close(q.stop) })
	q.wg.Wait()
	if q.nc != nil {
		q.nc.Close()
	}
	q.shutdownServer()
}

func (q *Queue) shutdownServer() {
	if q.emb != nil {
		q.emb.shutdown()
	}
}

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("queue closed")

// Pending returns the number of stream messages (batches) not yet applied
// and acknowledged by a processor; a readiness probe between its write and
// its deletion is not one.
func (q *Queue) Pending(ctx context.Context) (uint64, error) {
	pending, stranded, err := q.backlog(ctx)
	if err != nil {
		return 0, err
	}
	for _, n := range pending {
		stranded += n
	}
	return stranded, nil
}

// PartitionPending returns, per partition, the stream messages (batches) not
// yet applied and acknowledged: the backlog every process sees alike.
func (q *Queue) PartitionPending(ctx context.Context) ([]uint64, error) {
	pending, _, err := q.backlog(ctx)
	return pending, err
}

// backlog returns each partition's unapplied messages, and, in the single
// stream of an earlier usher, the messages of partitions beyond the
// configured ones (stranded: no consumer reads them; with a stream per
// partition, Open refuses such streams). On a limits stream a partition's
// messages include the applied ones not yet purged; its consumer, where it
// exists, tells how many are left.
func (q *Queue) backlog(ctx context.Context) (pending []uint64, stranded uint64, err error) {
	pending = make([]uint64, q.cfg.Partitions)
	for _, st := range q.distinctStreams() {
		counts, err := q.partitionMessages(ctx, st)
		if err != nil {
			return nil, 0, err
		}
		for p, n := range counts {
			if p < q.cfg.Partitions {
				pending[p] = n
			} else {
				stranded += n
			}
		}
	}
	if !q.purges() {
		return pending, stranded, nil
	}
	for p, n := range pending {
		if n == 0 {
			continue
		}
		left, found, err := q.consumerBacklog(ctx, p)
		if err != nil {
			return nil, 0, err
		}
		if found {
			pending[p] = min(n, left)
		}
	}
	return pending, stranded, nil
}
