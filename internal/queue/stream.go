package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrStreamMismatch is returned by Open when the stream found in NATS is not
// configured as this process would create it, and reconciling was not asked.
var ErrStreamMismatch = errors.New("stream mismatch")

// streamConfig is the inbound stream as this process would create it.
//
// Its retention is limits, not work queue: a work-queue stream removes each
// message as it is acknowledged, and under SyncAlways every removal is a
// tombstone written and fsynced with the stream's lock held, so every
// acknowledgement of an applied batch held up the next webhook's durable
// write. Applied messages are purged instead, a partition's whole applied
// prefix in one write (purge.go). Nothing bounds the stream but MaxBytes
// with DiscardNew, as before: a full stream refuses, it never drops.
func (q *Queue) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        strings.ToUpper(q.cfg.Namespace) + "_INBOUND",
		Description: "usher inbound webhooks, partitioned by order",
		Subjects:    []string{q.cfg.Namespace + ".in.*"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    q.cfg.MaxBytes,
		Replicas:    q.cfg.Replicas,
	}
}

// ensureStream creates the inbound stream, or checks the one it finds
// against the configuration: on a mismatch it refuses to run unless
// Reconcile is set (the embedded server, which only this process uses,
// always reconciles: its size cap follows the free disk).
func (q *Queue) ensureStream(ctx context.Context) error {
	if q.cfg.Replicas == 0 {
		q.cfg.Replicas = q.autoReplicas()
	}
	want := q.streamConfig()
	s, err := q.js.Stream(ctx, want.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		if s, err = q.js.CreateStream(ctx, want); err != nil {
			return fmt.Errorf("create stream %s (replicas %d): %w", want.Name, want.Replicas, err)
		}
	case err != nil:
		return fmt.Errorf("stream %s: %w", want.Name, err)
	default:
		if s, err = q.adoptRetention(ctx, s, &want); err != nil {
			return err
		}
		if s, err = q.reconcile(ctx, s, want); err != nil {
			return err
		}
	}
	q.stream = s
	q.retention = want.Retention
	return q.checkPartitions(ctx)
}

// adoptRetention deals with a stream created by an earlier usher with
// work-queue retention, which NATS cannot change in place. The embedded
// server's stream, used by this process alone and not yet written to, is
// replaced when it holds no event. Any other keeps its retention, and want
// is changed to match: a work-queue stream removes what is acknowledged
// itself, and usher runs on it as before (without the purge). Deleting a
// stream on an external server is never usher's call: another process may
// be writing to it.
func (q *Queue) adoptRetention(ctx context.Context, s jetstream.Stream, want *jetstream.StreamConfig) (jetstream.Stream, error) {
	got := s.CachedInfo().Config.Retention
	if got == want.Retention {
		return s, nil
	}
	if q.emb != nil && got == jetstream.WorkQueuePolicy {
		events, err := q.eventMessages(ctx, s)
		if err != nil {
			return nil, err
		}
		if events == 0 {
			if err := q.js.DeleteStream(ctx, want.Name); err != nil {
				return nil, fmt.Errorf("replace empty work-queue stream %s: %w", want.Name, err)
			}
			created, err := q.js.CreateStream(ctx, *want)
			if err != nil {
				return nil, fmt.Errorf("create stream %s: %w", want.Name, err)
			}
			q.log.Info("replaced the empty work-queue stream with one of limits retention", "stream", want.Name)
			return created, nil
		}
		q.log.Info("the stream keeps its work-queue retention while it holds events; a start that finds it empty switches it to limits retention",
			"stream", want.Name, "messages", events)
	} else {
		q.log.Warn("the stream keeps the retention it was created with; to switch it to "+want.Retention.String()+", let it drain and delete it, and usher creates it anew",
			"stream", want.Name, "retention", got.String())
	}
	want.Retention = got
	return s, nil
}

// eventMessages counts the messages of s holding events: all of them but
// readiness probes.
func (q *Queue) eventMessages(ctx context.Context, s jetstream.Stream) (uint64, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(q.cfg.Namespace+".in.*"))
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	return info.State.Msgs - min(info.State.Msgs, info.State.Subjects[q.probeSubject()]), nil
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
