package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrStreamMismatch is returned by Open when the stream found in NATS is not
// configured as this process would create it, and reconciling was not asked.
var ErrStreamMismatch = errors.New("stream mismatch")

// The inbound queue is one stream per partition, <NAMESPACE>_INBOUND_<p>
// holding subject <namespace>.in.<p> (and the readiness probe's
// <namespace>.probe.<p>). A stream writes its messages one after another on
// one goroutine, each synced before it is acknowledged; partitions sharing
// one stream waited for each other's writes (BenchmarkPublishPartitions:
// two partitions in one stream ≈ 3.5k synced writes/s, in two ≈ 5.3k/s).
//
// Retention is limits, not work queue: a work-queue stream removes each
// message as it is acknowledged, and under SyncAlways every removal is a
// tombstone written and fsynced on the stream's write path, so every
// acknowledgement of an applied batch held up the next webhook's durable
// write. Applied messages are purged instead, a partition's whole applied
// prefix in one write (purge.go). Nothing bounds a stream but its MaxBytes
// with DiscardNew: a full stream refuses, it never drops.
//
// usher before this layout kept every partition in one stream,
// <NAMESPACE>_INBOUND with subjects <namespace>.in.*, a work queue. Such a
// stream is used as it is (see ensureStreams).

func (q *Queue) legacyStreamName() string { return strings.ToUpper(q.cfg.Namespace) + "_INBOUND" }

func (q *Queue) streamName(p int) string { return q.legacyStreamName() + "_" + strconv.Itoa(p) }

// partitionStreamConfig is partition p's stream as this process would create
// it. The partitions share the configured MaxBytes evenly.
func (q *Queue) partitionStreamConfig(p int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        q.streamName(p),
		Description: "usher inbound webhooks, partition " + strconv.Itoa(p) + " of the orders",
		Subjects:    []string{q.subject(p), q.partitionProbeSubject(p)},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    q.cfg.MaxBytes / int64(q.cfg.Partitions),
		Replicas:    q.cfg.Replicas,
	}
}

// legacyStreamConfig is the single stream of earlier usher versions, with
// the retention it was found with.
func (q *Queue) legacyStreamConfig(retention jetstream.RetentionPolicy) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        q.legacyStreamName(),
		Description: "usher inbound webhooks, partitioned by order",
		Subjects:    []string{q.cfg.Namespace + ".in.*"},
		Retention:   retention,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    q.cfg.MaxBytes,
		Replicas:    q.cfg.Replicas,
	}
}

// ensureStreams creates each partition's stream, or checks the one it finds
// against the configuration: on a mismatch it refuses to run unless
// Reconcile is set (the embedded server, which only this process uses,
// always reconciles: its size cap follows the free disk).
//
// A single stream of an earlier usher is used instead while it exists. The
// embedded server's, used by this process alone and not yet written to, is
// deleted when it holds no event; any other is kept with a warning:
// deleting a stream on an external server is never usher's call, another
// process may be writing to it.
func (q *Queue) ensureStreams(ctx context.Context) error {
	if q.cfg.Replicas == 0 {
		q.cfg.Replicas = q.autoReplicas()
	}
	legacy, err := q.js.Stream(ctx, q.legacyStreamName())
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
	case err != nil:
		return fmt.Errorf("stream %s: %w", q.legacyStreamName(), err)
	default:
		keep, err := q.keepLegacy(ctx, legacy)
		if err != nil {
			return err
		}
		if keep {
			return q.useLegacy(ctx, legacy)
		}
	}
	q.streams = make([]jetstream.Stream, q.cfg.Partitions)
	for p := range q.streams {
		if q.streams[p], err = q.ensureStream(ctx, q.partitionStreamConfig(p)); err != nil {
			return err
		}
	}
	q.retention = jetstream.LimitsPolicy
	return q.checkPartitions(ctx)
}

func (q *Queue) ensureStream(ctx context.Context, want jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := q.js.Stream(ctx, want.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		if s, err = q.js.CreateStream(ctx, want); err != nil {
			return nil, fmt.Errorf("create stream %s (replicas %d): %w", want.Name, want.Replicas, err)
		}
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("stream %s: %w", want.Name, err)
	}
	return q.reconcile(ctx, s, want)
}

// keepLegacy reports whether the single stream of an earlier usher stays in
// use; it deletes the embedded server's when it holds no event.
func (q *Queue) keepLegacy(ctx context.Context, s jetstream.Stream) (bool, error) {
	name := q.legacyStreamName()
	if q.emb == nil {
		q.log.Warn("the inbound stream is the single stream of an earlier usher: it stays in use, and partitions wait for each other's writes; "+
			"to move to a stream per partition, stop the receivers, wait for usher_queue_depth 0 on every partition, delete it and start usher again",
			"stream", name)
		return true, nil
	}
	events, err := q.eventMessages(ctx, s)
	if err != nil {
		return false, err
	}
	if events > 0 {
		q.log.Info("the inbound stream is the single stream of an earlier usher and holds events: it stays in use until a start finds it empty",
			"stream", name, "messages", events)
		return true, nil
	}
	if err := q.js.DeleteStream(ctx, name); err != nil {
		return false, fmt.Errorf("delete the empty stream %s of an earlier usher: %w", name, err)
	}
	q.log.Info("replaced the empty single stream of an earlier usher with a stream per partition", "stream", name)
	return false, nil
}

// useLegacy serves every partition from the single stream s, with the
// retention it was created with (NATS cannot change it in place): a
// work-queue stream removes what is acknowledged itself, and is not purged.
func (q *Queue) useLegacy(ctx context.Context, s jetstream.Stream) error {
	want := q.legacyStreamConfig(s.CachedInfo().Config.Retention)
	s, err := q.reconcile(ctx, s, want)
	if err != nil {
		return err
	}
	q.streams = make([]jetstream.Stream, q.cfg.Partitions)
	for p := range q.streams {
		q.streams[p] = s
	}
	q.legacy = true
	q.retention = want.Retention
	return q.checkPartitions(ctx)
}

// eventMessages counts the messages of s holding events: all of them but
// readiness probes.
func (q *Queue) eventMessages(ctx context.Context, s jetstream.Stream) (uint64, error) {
	counts, err := q.partitionMessages(ctx, s)
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, msgs := range counts {
		n += msgs
	}
	return n, nil
}

// partitionMessages counts the messages of s by the partition of their
// subject, <namespace>.in.<p>; the readiness probe's are not counted.
func (q *Queue) partitionMessages(ctx context.Context, s jetstream.Stream) (map[int]uint64, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(q.cfg.Namespace+".in.*"))
	if err != nil {
		return nil, fmt.Errorf("stream info: %w", err)
	}
	counts := make(map[int]uint64, len(info.State.Subjects))
	for subject, n := range info.State.Subjects {
		if p, err := strconv.Atoi(subject[strings.LastIndexByte(subject, '.')+1:]); err == nil {
			counts[p] += n
		}
	}
	return counts, nil
}

// distinctStreams returns the streams in use, each once.
func (q *Queue) distinctStreams() []jetstream.Stream {
	if q.legacy {
		return q.streams[:1]
	}
	return q.streams
}

// reconcile compares the found stream with want and updates it when allowed.
func (q *Queue) reconcile(ctx context.Context, s jetstream.Stream, want jetstream.StreamConfig) (jetstream.Stream, error) {
	diffs := streamDiff(s.CachedInfo().Config, want)
	if len(diffs) == 0 {
		return s, nil
	}
	if q.emb == nil && !q.cfg.Reconcile {
		return nil, fmt.Errorf("%w: stream %s in NATS differs from this process's configuration: %s; "+
			"start with the same settings as the processes that created it, or with --reconcile-stream to update the stream",
			ErrStreamMismatch, want.Name, strings.Join(diffs, "; "))
	}
	updated, err := q.js.UpdateStream(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("update stream %s (%s): %w", want.Name, strings.Join(diffs, "; "), err)
	}
	if q.emb == nil {
		q.log.Warn("updated the stream to this process's configuration", "stream", want.Name, "changes", strings.Join(diffs, "; "))
	}
	return updated, nil
}

// streamDiff names each setting of got that differs from want, with the
// expected and the found value.
func streamDiff(got, want jetstream.StreamConfig) []string {
	var d []string
	add := func(field string, expected, found any) {
		d = append(d, fmt.Sprintf("%s: expected %v, found %v", field, expected, found))
	}
	if got.Replicas != want.Replicas {
		add("replicas", want.Replicas, got.Replicas)
	}
	if got.Storage != want.Storage {
		add("storage", want.Storage, got.Storage)
	}
	if got.Retention != want.Retention {
		add("retention", want.Retention, got.Retention)
	}
	if got.Discard != want.Discard {
		add("discard", want.Discard, got.Discard)
	}
	if got.MaxBytes != want.MaxBytes {
		add("max_bytes", want.MaxBytes, got.MaxBytes)
	}
	if !slices.Equal(got.Subjects, want.Subjects) {
		add("subjects", want.Subjects, got.Subjects)
	}
	return d
}

// autoReplicas is the default replica count: 1 embedded; with an external
// server 3 when it is part of a cluster of at least three servers, else 1
// with a warning (one lost node then loses acknowledged webhooks).
func (q *Queue) autoReplicas() int {
	if q.emb != nil {
		return 1
	}
	peers := clusterSize(q.nc)
	if peers >= 3 {
		return 3
	}
	q.log.Warn("NATS is not a cluster of at least three servers: the stream gets one replica, and losing that server loses acknowledged webhooks; run a three-node cluster (deploy/nats/) or set --replicas explicitly",
		"servers", peers, "cluster", q.nc.ConnectedClusterName())
	return 1
}

// clusterSize counts the servers of the connected server's cluster as its
// INFO announces them (its own URL and the other members' client URLs). A
// server outside any cluster counts 1. Members started with no_advertise are
// not counted; set --replicas explicitly there.
func clusterSize(nc *nats.Conn) int {
	if nc.ConnectedClusterName() == "" {
		return 1
	}
	return max(1, len(nc.Servers()))
}

// SyncUnknown, SyncAlways and SyncInterval describe what usher could learn
// about an external server's fsync policy.
const (
	SyncUnknown  = "unknown"
	SyncAlways   = "always"
	SyncInterval = "interval"
)

// ServerSync asks every server of the cluster (through the system account's
// $SYS.REQ.SERVER.PING.VARZ, which answers only a connection with system
// account rights) whether it fsyncs before acknowledging. It returns
// SyncAlways when every answering server does, SyncInterval with the
// offending servers when one does not, and SyncUnknown when nothing answered:
// an ordinary account cannot see the server's configuration.
func ServerSync(ctx context.Context, nc *nats.Conn, wait time.Duration) (policy string, lax []string) {
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return SyncUnknown, nil
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest("$SYS.REQ.SERVER.PING.VARZ", inbox, nil); err != nil {
		return SyncUnknown, nil
	}
	answered := 0
	deadline := time.Now().Add(wait)
	for {
		msg, err := sub.NextMsg(time.Until(deadline))
		if err != nil || ctx.Err() != nil || msg.Header.Get("Status") == "503" { // 503: no responders
			break
		}
		var v struct {
			Server struct {
				Name string `json:"name"`
			} `json:"server"`
			Data struct {
				JetStream struct {
					Config *struct {
						SyncAlways   bool          `json:"sync_always"`
						SyncInterval time.Duration `json:"sync_interval"`
					} `json:"config"`
				} `json:"jetstream"`
			} `json:"data"`
		}
		if json.Unmarshal(msg.Data, &v) != nil || v.Data.JetStream.Config == nil {
			continue
		}
		answered++
		if !v.Data.JetStream.Config.SyncAlways {
			lax = append(lax, fmt.Sprintf("%s (sync_interval %s)", v.Server.Name, v.Data.JetStream.Config.SyncInterval))
		}
	}
	switch {
	case answered == 0:
		return SyncUnknown, nil
	case len(lax) > 0:
		return SyncInterval, lax
	}
	return SyncAlways, nil
}

// warnSync logs what can be learnt of an external server's fsync policy.
func (q *Queue) warnSync(ctx context.Context) {
	if q.emb != nil {
		return
	}
	switch policy, lax := ServerSync(ctx, q.nc, time.Second); policy {
	case SyncInterval:
		q.log.Warn("NATS servers do not fsync before acknowledging: an OS crash or power loss can lose acknowledged webhooks; set jetstream { sync_interval: always } (deploy/nats/)", "servers", strings.Join(lax, ", "))
	case SyncUnknown:
		q.log.Warn("cannot verify that NATS fsyncs before acknowledging (the server configuration is visible only to the system account); make sure every server sets jetstream { sync_interval: always } (deploy/nats/)")
	}
}
