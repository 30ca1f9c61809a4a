package queue

import (
	"bytes"
	"context"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/usherhq/usher"
)

// Enqueue makes ev durable in the stream and returns once JetStream has
// acknowledged the write that holds it. Events arriving together on one
// partition share one write (group commit). An error means the event may or
// may not be stored; the sender must retry, and the processor's dedupe record
// makes the retry harmless. Errors are *usher.Error with CodeQueueUnavailable.
func (q *Queue) Enqueue(ctx context.Context, ev *usher.InboundEvent) error {
	if st := q.nc.Status(); st != nats.CONNECTED {
		// Fail fast: a publish now would wait out PublishTimeout for nothing.
		return usher.WrapError(usher.CodeQueueUnavailable, &unavailableError{fmt.Errorf("nats connection %s", st)}, "the queue is not reachable")
	}
	if err := q.downErr(); err != nil {
		return err // the last write failed; the prober clears this once a write succeeds
	}
	data, err := appendEvent(make([]byte, 0, 320+len(ev.Data)+len(ev.Original)+len(ev.Sealed)*4/3), ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	req := &pubRequest{data: data, done: make(chan error, 1)}
	b := q.batchers[q.PartitionOf(ev)]
	select {
	case b.in <- req:
	case <-q.stop:
		return usher.WrapError(usher.CodeQueueUnavailable, ErrClosed, "queue is shutting down")
	case <-ctx.Done():
		return usher.WrapError(usher.CodeQueueUnavailable, ctx.Err(), "gave up waiting for the queue")
	}
	select {
	case err := <-req.done:
		if err != nil {
			return usher.WrapError(usher.CodeQueueUnavailable, err, "the queue did not confirm a durable write")
		}
		return nil
	case <-q.stop:
		return usher.WrapError(usher.CodeQueueUnavailable, ErrClosed, "queue is shutting down")
	case <-ctx.Done():
		return usher.WrapError(usher.CodeQueueUnavailable, ctx.Err(), "gave up waiting for the queue")
	}
}

type pubRequest struct {
	data []byte
	done chan error
}

// batcher is the single writer of one partition. While one write is in
// flight, new events queue up in its channel and go out together in the next
// write: batches grow with load and cost nothing when idle.
type batcher struct {
	q         *Queue
	partition int
	subject   string
	in        chan *pubRequest
}

func newBatcher(q *Queue, p int) *batcher {
	return &batcher{q: q, partition: p, subject: q.subject(p), in: make(chan *pubRequest, 4*q.cfg.MaxBatchEvents)}
}

func (b *batcher) run() {
	batch := make([]*pubRequest, 0, b.q.cfg.MaxBatchEvents)
	var buf bytes.Buffer
	for {
		batch = batch[:0]
		select {
		case <-b.q.stop:
			b.failQueued()
			return
		case r := <-b.in:
			batch = append(batch, r)
		}
		size := len(batch[0].data)
	fill:
		for len(batch) < b.q.cfg.MaxBatchEvents && size < b.q.cfg.MaxBatchBytes {
			select {
			case r := <-b.in:
				batch = append(batch, r)
				size += len(r.data)
			default:
				break fill
			}
		}
		err := b.publish(batch, &buf)
		for _, r := range batch {
			r.done <- err
		}
	}
}

func (b *batcher) publish(batch []*pubRequest, buf *bytes.Buffer) error {
	buf.Reset()
	buf.WriteByte('[')
	for i, r := range batch {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(r.data)
	}
	buf.WriteByte(']')
	ctx, cancel := context.WithTimeout(context.Background(), b.q.cfg.PublishTimeout)
	defer cancel()
	if _, err := b.q.js.Publish(ctx, b.subject, buf.Bytes()); err != nil {
		b.q.log.Warn("enqueue failed", "partition", b.partition, "events", len(batch), "err", err)
		err = fmt.Errorf("publish to %s: %w", b.subject, err)
		b.q.markDown(err)
		return err
	}
	if b.q.onBatch != nil {
		b.q.onBatch(len(batch))
	}
	return nil
}

func (b *batcher) failQueued() {
	for {
		select {
		case r := <-b.in:
			r.done <- ErrClosed
		default:
			return
		}
	}
}
