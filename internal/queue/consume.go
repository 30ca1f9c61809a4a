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

// AckFloor returns the stream sequence through which partition p's consumer
// has every message acknowledged, by whichever process applied them, and 0
// while the consumer does not exist: it rises whenever the partition
// progresses, in any process.
func (q *Queue) AckFloor(ctx context.Context, p int) (uint64, error) {
	if p < 0 || p >= len(q.streams) {
		return 0, fmt.Errorf("ack floor of partition %d: want 0..%d", p, len(q.streams)-1)
	}
	return q.ackFloor(ctx, q.streams[p], p)
}

// inFlight is the consumers' MaxAckPending: several messages only when this
// process is the sole consumer of its embedded server.
func (q *Queue) inFlight() int {
	if q.emb == nil {
		return 1
	}
	return q.cfg.MaxInFlight
}

// consumePartition applies partition p until ctx ends. After a failed batch
// the sole consumer of an embedded server starts over from a fresh consumer;
// a consumer that is gone (deleted by an operator, lost by its server) is
// created again, else the partition would wait for it forever.
func (q *Queue) consumePartition(ctx context.Context, p int, cons jetstream.Consumer, h Handler, depth func(int, uint64)) {
	var failures uint64
	var watch consumerWatch
	for ctx.Err() == nil {
		received, failed, err := q.consumeMessages(ctx, p, cons, h, depth)
		if received {
			watch = consumerWatch{}
		}
		switch {
		case failed && q.inFlight() > 1:
			// Start over from the oldest unapplied message: a fresh
			// consumer redelivers the failed batch before anything newer.
			failures++
			sleep(ctx, redeliveryDelay(failures))
			cons = q.resetConsumer(ctx, p, cons)
		case err == nil:
		case q.consumerGone(ctx, p, err, &watch):
			cons = q.recreateConsumer(ctx, p, cons, err, &watch)
		case !errors.Is(err, jetstream.ErrNoHeartbeat):
			sleep(ctx, time.Second) // the heartbeat has already been waited for
		}
		if !failed {
			failures = 0
		}
	}
}

// consumeMessages pulls and applies partition p's messages from cons until
// a batch fails (failed), the iterator fails (err, logged) or ctx ends;
// received tells whether any message came.
func (q *Queue) consumeMessages(ctx context.Context, p int, cons jetstream.Consumer, h Handler, depth func(int, uint64)) (received, failed bool, err error) {
	it, err := cons.Messages(jetstream.PullMaxMessages(q.inFlight()), jetstream.PullExpiry(5*time.Second))
	if err != nil {
		q.log.Warn("consumer subscribe failed", "partition", p, "err", err)
		return false, false, fmt.Errorf("subscribe to consumer %s: %w", q.consumerName(p), err)
	}
	stopped := context.AfterFunc(ctx, it.Stop)
	defer func() {
		stopped()
		it.Stop()
	}()
	for {
		msg, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return received, false, nil
		}
		if err != nil {
			q.log.Warn("consumer next failed", "partition", p, "err", err)
			return received, false, fmt.Errorf("consumer %s: %w", q.consumerName(p), err)
		}
		received = true
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
			return received, true, nil
		}
	}
}

// resetConsumer replaces partition p's consumer with a fresh one, retrying
// every second until it succeeds or ctx ends (then it returns cons).
func (q *Queue) resetConsumer(ctx context.Context, p int, cons jetstream.Consumer) jetstream.Consumer {
	for ctx.Err() == nil {
		fresh, err := q.freshConsumer(ctx, p)
		if err == nil {
			return fresh
		}
		q.log.Warn("consumer reset failed", "partition", p, "err", err)
		sleep(ctx, time.Second)
	}
	return cons
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

// missedHeartbeatsLimit is how many pulls in a row may go without a
// heartbeat before the consumer is created again even though the server
// still lists it.
const missedHeartbeatsLimit = 3

// missesApart is the longest time between two missed heartbeats that still
// counts them in a row: a pull without heartbeats fails after two heartbeat
// intervals, 5 s.
const missesApart = 15 * time.Second

// consumerWatch follows the signs that a partition's consumer is gone; a
// received message clears it.
type consumerWatch struct {
	missed   int       // pulls in a row that got no heartbeat
	lastMiss time.Time // when the last of them failed
	lost     int       // times the consumer was created again since a message came
}

// consumerGone reports whether err, from partition p's iterator, means its
// consumer is gone: deleted or not found, or heartbeats missing while the
// server does not know the consumer, or missing missedHeartbeatsLimit times
// in a row.
func (q *Queue) consumerGone(ctx context.Context, p int, err error, w *consumerWatch) bool {
	switch {
	case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
		return true
	case !errors.Is(err, jetstream.ErrNoHeartbeat):
		return false
	}
	if time.Since(w.lastMiss) > missesApart {
		w.missed = 0 // heartbeats came in between
	}
	w.missed++
	w.lastMiss = time.Now()
	if w.missed >= missedHeartbeatsLimit {
		return true
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = q.streams[p].Consumer(cctx, q.consumerName(p))
	return errors.Is(err, jetstream.ErrConsumerNotFound)
}

// recreateConsumer creates partition p's consumer again, with the
// configuration it was created with, after why showed it gone. Deleted, it
// has lost its ack floor: the new one delivers the partition from the start
// of its stream, which holds the unapplied messages and at most a purge
// interval of applied ones, which the handler's dedupe records make no-ops.
// Attempts back off from 250 ms to 10 s, counting the consumers created
// again since a message last came, so one deleted over and over is not
// recreated in a busy loop. It returns cons when ctx ends first.
func (q *Queue) recreateConsumer(ctx context.Context, p int, cons jetstream.Consumer, why error, w *consumerWatch) jetstream.Consumer {
	name := q.consumerName(p)
	w.missed = 0
	for attempt := w.lost; ctx.Err() == nil; attempt++ {
		sleep(ctx, recreateDelay(attempt))
		fresh, err := q.freshConsumer(ctx, p)
		if err == nil {
			w.lost++
			q.log.Warn("partition consumer was gone or unresponsive; created it again with the same configuration, delivering the partition from the start of its stream (events already applied are skipped)",
				"partition", p, "consumer", name, "why", why)
			return fresh
		}
		q.log.Warn("creating the partition consumer again failed; retrying",
			"partition", p, "consumer", name, "retry_in", recreateDelay(attempt+1), "err", err)
	}
	return cons
}

// recreateDelay is the wait before the attempt-th consecutive attempt to
// create a consumer again: none for the first, then 250 ms doubling to 10 s.
func recreateDelay(attempt int) time.Duration {
	if attempt <= 0 {
		return 0
	}
	return min(250*time.Millisecond<<min(attempt-1, 6), 10*time.Second)
}
