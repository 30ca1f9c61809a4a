package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/usherhq/usher"
)

// Batch is one stream message: the events that one group-commit write made
// durable, in arrival order.
type Batch struct {
	Partition int
	Events    []usher.InboundEvent
	// Delivered counts deliveries of this message, 1 the first time.
	Delivered uint64
	// Raw and DecodeErr are set when the message could not be decoded; the
	// handler must keep it somewhere (a dead letter) before returning nil.
	Raw       []byte
	DecodeErr error
}

// Handler applies a batch. Returning nil acknowledges the message; an error
// redelivers it after a backoff, keeping the partition's order.
type Handler func(ctx context.Context, b Batch) error

// Consumers runs one ordered consumer per partition until Stop.
type Consumers struct {
	cancel    context.CancelFunc
	wg        sync.WaitGroup // the partitions' goroutines
	stopPurge context.CancelFunc
	purged    chan struct{} // closed when the purger has made its last round
}

// Consume starts the partition consumers. Each partition's durable consumer
// allows one unacknowledged message, so a partition is applied strictly in
// order, even when several usher processes share the consumers; partitions
// run in parallel. depth, if not nil, is told each partition's backlog.
func (q *Queue) Consume(ctx context.Context, h Handler, depth func(partition int, pending uint64)) (*Consumers, error) {
	pctx, stopPurge := context.WithCancel(context.WithoutCancel(ctx))
	purged := make(chan struct{})
	go func() {
		defer close(purged)
		if q.purges() {
			q.purgeApplied(pctx)
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	cs := &Consumers{cancel: cancel, stopPurge: stopPurge, purged: purged}
	for p := 0; p < q.cfg.Partitions; p++ {
		cons, err := q.freshConsumer(ctx, p)
		if err != nil {
			cs.Stop()
			return nil, fmt.Errorf("create consumer for partition %d: %w", p, err)
		}
		cs.wg.Add(1)
		go func() {
			defer cs.wg.Done()
			q.consumePartition(ctx, p, cons, h, depth)
		}()
	}
	return cs, nil
}

// Stop ends the consumers after the batch each one is applying, purges what
// they applied, and waits.
func (cs *Consumers) Stop() {
	cs.cancel()
	cs.wg.Wait()
	cs.stopPurge() // its last round sees every batch applied
	<-cs.purged
}

// freshConsumer creates partition p's durable consumer. As the sole
// consumer of an embedded server it first deletes the one a previous run
// left: the stream keeps every unapplied message (what was applied is purged
// first), so the new consumer delivers them again from the oldest, in order,
// at once — where the old one would hold a crashed run's in-flight messages
// for AckWait and deliver newer ones first.
func (q *Queue) freshConsumer(ctx context.Context, p int) (jetstream.Consumer, error) {
	name := q.consumerName(p)
	if q.inFlight() > 1 {
		if q.purges() {
			if err := q.purgeAcknowledged(ctx, p); err != nil {
				return nil, fmt.Errorf("reset consumer %s: %w", name, err)
			}
		}
		if err := q.streams[p].DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("reset consumer %s: %w", name, err)
		}
	}
	return q.streams[p].CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "usher processor, partition " + strconv.Itoa(p),
		FilterSubject: q.subject(p),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.cfg.AckWait,
		MaxAckPending: q.inFlight(),
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
}

// inFlight is the consumers' MaxAckPending: several messages only when this
// process is the sole consumer of its embedded server.
func (q *Queue) inFlight() int {
	if q.emb == nil {
		return 1
	}
	return q.cfg.MaxInFlight
}

func (q *Queue) consumePartition(ctx context.Context, p int, cons jetstream.Consumer, h Handler, depth func(int, uint64)) {
	var failures uint64
	for ctx.Err() == nil {
		failed := false
		it, err := cons.Messages(jetstream.PullMaxMessages(q.inFlight()), jetstream.PullExpiry(5*time.Second))
		if err != nil {
			q.log.Warn("consumer subscribe failed", "partition", p, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		stopped := context.AfterFunc(ctx, it.Stop)
		for {
			msg, err := it.Next()
			if err != nil {
				if !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					q.log.Warn("consumer next failed", "partition", p, "err", err)
				}
				break
			}
			msgs := append(make([]jetstream.Msg, 0, q.inFlight()), msg)
			// Take what else is already here, up to the in-flight limit:
			// one transaction then applies all of it.
			for len(msgs) < q.inFlight() {
				more, err := it.Next(jetstream.NextMaxWait(time.Millisecond))
				if err != nil {
					break
				}
				msgs = append(msgs, more)
			}
			if !q.handle(ctx, p, msgs, h, depth) {
				// A failed batch is redelivered; messages behind it that the
				// iterator already holds must not overtake it.
				failed = true
				break
			}
		}
		stopped()
		it.Stop()
		if failed && q.inFlight() > 1 {
			// Start over from the oldest unapplied message: a fresh
			// consumer redelivers the failed batch before anything newer.
			failures++
			sleep(ctx, redeliveryDelay(failures))
			for ctx.Err() == nil {
				fresh, err := q.freshConsumer(ctx, p)
				if err == nil {
					cons = fresh
					break
				}
				q.log.Warn("consumer reset failed", "partition", p, "err", err)
				sleep(ctx, time.Second)
			}
		} else if !failed {
			failures = 0
		}
	}
}

// handle applies msgs (in stream order) as one batch and acknowledges them;
// it reports false when they failed and will be redelivered.
func (q *Queue) handle(ctx context.Context, p int, msgs []jetstream.Msg, h Handler, depth func(int, uint64)) bool {
	b := Batch{Partition: p, Delivered: 1}
	var last uint64 // the stream sequence of the last message
	for _, msg := range msgs {
		if md, err := msg.Metadata(); err == nil {
			last = md.Sequence.Stream
			b.Delivered = max(b.Delivered, md.NumDelivered)
			if depth != nil {
				depth(p, md.NumPending)
			}
		}
		events, err := decodeEvents(msg.Data())
		if err != nil {
			if len(msgs) > 1 {
				// Set the undecodable message aside on its own, in order.
				return q.handle(ctx, p, msgs[:1], h, depth) && q.handleRest(ctx, p, msgs[1:], h, depth)
			}
			b.Raw, b.DecodeErr = msg.Data(), err
		}
		b.Events = append(b.Events, events...)
	}
	// A batch that started is finished even during shutdown: its transaction
	// is short, and an interrupted one would only be redelivered.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), q.cfg.HandleTimeout)
	stopBeating := inProgress(msgs, q.cfg.AckWait/3)
	err := h(hctx, b)
	stopBeating()
	cancel()
	if err != nil {
		delay := redeliveryDelay(b.Delivered)
		q.log.Warn("batch failed, will redeliver", "partition", p, "messages", len(msgs), "delivered", b.Delivered, "retry_in", delay, "err", err)
		if q.inFlight() == 1 { // a shared consumer: the server redelivers after the delay
			if nerr := msgs[0].NakWithDelay(delay); nerr != nil {
				q.log.Warn("nak failed", "partition", p, "err", nerr)
			}
		}
		return false
	}
	// Applied, whatever becomes of the acknowledgements below.
	q.markApplied(p, last)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for i, msg := range msgs {
		ack := msg.Ack
		if i == len(msgs)-1 {
			ack = func() error { return msg.DoubleAck(actx) } // the last one confirmed, in order
		}
		if err := ack(); err != nil {
			// The effects are committed; a redelivery is caught by the dedupe record.
			q.log.Warn("ack failed, batch will be redelivered and deduplicated", "partition", p, "err", err)
		}
	}
	return true
}

// handleRest applies messages one batch after another, stopping at a failure.
func (q *Queue) handleRest(ctx context.Context, p int, msgs []jetstream.Msg, h Handler, depth func(int, uint64)) bool {
	return len(msgs) == 0 || q.handle(ctx, p, msgs, h, depth)
}

// inProgress tells the server every interval that msg is still being
// worked on, so that a slow batch is not redelivered while a short AckWait
// still frees a crashed consumer's batch quickly. The returned function stops it.
func inProgress(msgs []jetstream.Msg, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, msg := range msgs {
					_ = msg.InProgress()
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// redeliveryDelay is exponential backoff with full jitter, from 100 ms up to 30 s.
func redeliveryDelay(delivered uint64) time.Duration {
	shift := min(delivered, 9)
	ceiling := min(100*time.Millisecond<<shift, 30*time.Second)
	return ceiling/2 + time.Duration(rand.Int64N(int64(ceiling/2)+1))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
