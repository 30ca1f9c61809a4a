package queue

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// appliedMarks holds, per partition, the stream sequence of the last message
// this process applied. A partition is applied strictly in order (one
// consumer, in-order delivery, and a failed batch stops everything behind
// it), so every message of the partition up to the mark has been applied,
// by this process or another: the prefix the purge may remove.
type appliedMarks struct {
	seqs []atomic.Uint64
}

func newAppliedMarks(partitions int) appliedMarks {
	return appliedMarks{seqs: make([]atomic.Uint64, partitions)}
}

func (m *appliedMarks) set(p int, seq uint64) {
	for {
		old := m.seqs[p].Load()
		if seq <= old || m.seqs[p].CompareAndSwap(old, seq) {
			return
		}
	}
}

func (m *appliedMarks) get(p int) uint64 { return m.seqs[p].Load() }

// purges reports whether applied messages are purged: on a limits stream.
// A work-queue stream (created by an earlier usher) removes them itself.
func (q *Queue) purges() bool { return q.retention == jetstream.LimitsPolicy }

// markApplied records that partition p has been applied through seq.
func (q *Queue) markApplied(p int, seq uint64) {
	if q.purges() {
		q.applied.set(p, seq)
	}
}

// purgeApplied purges each partition's applied prefix every PurgeInterval
// until ctx ends, then once more. A failed purge is logged once and
// retried: until it succeeds the stream only holds applied messages longer.
func (q *Queue) purgeApplied(ctx context.Context) {
	purged := make([]uint64, q.cfg.Partitions)
	failing := false
	round := func(ctx context.Context) {
		for p := range purged {
			seq := q.applied.get(p)
			if seq <= purged[p] {
				continue
			}
			if err := q.purgeThrough(ctx, q.streams[p], p, seq); err != nil {
				if !failing && ctx.Err() == nil {
					q.log.Warn("purging applied messages from the stream failed; retrying", "partition", p, "err", err)
				}
				failing = true
				continue
			}
			if failing {
				q.log.Info("purging applied messages from the stream works again", "partition", p)
				failing = false
			}
			purged[p] = seq
		}
	}
	t := time.NewTicker(q.cfg.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			round(ctx)
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			round(last)
			cancel()
			return
		}
	}
}

// purgeThrough removes partition p's messages up to and including seq from
// its stream st: one write, whatever their number.
func (q *Queue) purgeThrough(ctx context.Context, st jetstream.Stream, p int, seq uint64) error {
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(q.subject(p)), jetstream.WithPurgeSequence(seq+1)); err != nil {
		return fmt.Errorf("purge %s through sequence %d: %w", q.subject(p), seq, err)
	}
	return nil
}

// purgeAcknowledged purges what partition p's consumer has acknowledged (its
// ack floor) or this process has applied, before the consumer is created
// anew: a fresh consumer delivers the partition from its first message.
func (q *Queue) purgeAcknowledged(ctx context.Context, p int) error {
	floor, err := q.ackFloor(ctx, q.streams[p], p)
	if err != nil {
		return err
	}
	if floor = max(floor, q.applied.get(p)); floor == 0 {
		return nil
	}
	return q.purgeThrough(ctx, q.streams[p], p, floor)
}

// ackFloor returns the sequence of stream st through which partition p's
// consumer has every message acknowledged, 0 when it does not exist.
func (q *Queue) ackFloor(ctx context.Context, st jetstream.Stream, p int) (uint64, error) {
	c, err := st.Consumer(ctx, q.consumerName(p))
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("consumer %s: %w", q.consumerName(p), err)
	}
	return c.CachedInfo().AckFloor.Stream, nil
}

// consumerBacklog returns what partition p's consumer has yet to apply
// (undelivered plus delivered and unacknowledged), and false when the
// consumer does not exist yet.
func (q *Queue) consumerBacklog(ctx context.Context, p int) (uint64, bool, error) {
	c, err := q.streams[p].Consumer(ctx, q.consumerName(p))
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("consumer %s: %w", q.consumerName(p), err)
	}
	info := c.CachedInfo()
	return info.NumPending + uint64(info.NumAckPending), true, nil
}
