package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/usherhq/usher"
)

// Probe timings: a probe waits at most probeTimeout for the stream; a
// readiness answer reuses a probe younger than probeFresh; while writes
// fail, a probe runs every probeEvery until one succeeds.
const (
	probeTimeout = 2 * time.Second
	probeFresh   = 2 * time.Second
	probeEvery   = time.Second
	// wedgedAfter consecutive probes that got no answer from a running
	// server mean the stream's store is stuck on a write error.
	wedgedAfter = 3
	// retryAfter is advised to senders refused while the queue cannot store.
	retryAfter = 5 * time.Second
)

// health remembers whether the stream takes writes. A failed write marks it
// down: Enqueue then refuses at once instead of waiting out the publish
// timeout for each webhook, and probes run in the background until a write
// succeeds again.
type health struct {
	mu       sync.Mutex
	down     error // the write failure that marked the queue down; nil when up
	probedAt time.Time
	probeErr error
	timeouts int // consecutive probes without an answer

	probeMu sync.Mutex    // one probe at a time
	kick    chan struct{} // wakes the prober
}

// unavailableError is a refusal with the wait the sender should observe.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string             { return e.err.Error() }
func (e *unavailableError) Unwrap() error             { return e.err }
func (e *unavailableError) RetryAfter() time.Duration { return retryAfter }

// downErr returns the refusal for Enqueue while the queue is down, or nil.
func (q *Queue) downErr() error {
	q.health.mu.Lock()
	defer q.health.mu.Unlock()
	if q.health.down == nil {
		return nil
	}
	return usher.WrapError(usher.CodeQueueUnavailable, &unavailableError{q.health.down},
		"the queue cannot store webhooks now; retry later")
}

// markDown records a failed write and wakes the prober.
func (q *Queue) markDown(err error) {
	q.health.mu.Lock()
	first := q.health.down == nil
	if first {
		q.health.down = err
	}
	q.health.mu.Unlock()
	if first {
		q.log.Error("queue writes fail; webhooks get 503 at once until a probe write succeeds", "err", err)
	}
	select {
	case q.health.kick <- struct{}{}:
	default:
	}
}

// Ready reports whether the stream takes a write now: it stores (and then
// deletes) a small probe message, or reuses a probe younger than two
// seconds, so that it stays cheap under load.
func (q *Queue) Ready(ctx context.Context) error {
	q.health.mu.Lock()
	if time.Since(q.health.probedAt) < probeFresh {
		err := q.health.probeErr
		q.health.mu.Unlock()
		return err
	}
	q.health.mu.Unlock()
	return q.probe(ctx)
}

// probe writes one message to the probe subject of the inbound stream: it
// meets the same store, limits and write errors as a webhook, but no
// partition consumer sees it, and it is deleted once stored.
func (q *Queue) probe(ctx context.Context) error {
	q.health.probeMu.Lock()
	defer q.health.probeMu.Unlock()
	q.health.mu.Lock()
	if time.Since(q.health.probedAt) < probeFresh/4 { // a probe just ran
		err := q.health.probeErr
		q.health.mu.Unlock()
		return err
	}
	q.health.mu.Unlock()
	err := q.probeWrite(ctx)
	q.health.mu.Lock()
	defer q.health.mu.Unlock()
	q.health.probedAt, q.health.probeErr = time.Now(), err
	switch {
	case err == nil:
		q.health.timeouts = 0
		if q.health.down != nil {
			q.log.Info("queue writes succeed again; accepting webhooks", "was", q.health.down)
			q.health.down = nil
		}
	case (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)) && q.nc.Status() == nats.CONNECTED:
		q.health.timeouts++
		if q.health.timeouts >= wedgedAfter && q.emb != nil {
			q.emb.writeFailed("the stream did not answer " + fmt.Sprint(q.health.timeouts) + " probe writes")
		}
	}
	return err
}

func (q *Queue) probeWrite(ctx context.Context) error {
	if st := q.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("%w: nats connection %s", usher.ErrTransient, st)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	for i, st := range q.distinctStreams() {
		subject := q.probeSubject(i)
		ack, err := q.js.Publish(ctx, subject, []byte("{}"))
		if err != nil {
			return fmt.Errorf("%w: probe write to %s: %w", usher.ErrTransient, subject, err)
		}
		if err := st.DeleteMsg(ctx, ack.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("%w: delete probe message: %w", usher.ErrTransient, err)
		}
	}
	return nil
}

// watchWrites probes every second while the queue is down, until stop.
func (q *Queue) watchWrites() {
	for {
		select {
		case <-q.stop:
			return
		case <-q.health.kick:
		}
		for q.downErr() != nil {
			select {
			case <-q.stop:
				return
			case <-time.After(probeEvery):
			}
			ctx, cancel := context.WithTimeout(context.Background(), probeTimeout+time.Second)
			_ = q.probe(ctx)
			cancel()
		}
	}
}

// probeSubject is the readiness probe's subject in the i-th of the distinct
// streams: partition i's stream, or the single stream of an earlier usher.
func (q *Queue) probeSubject(i int) string {
	if q.legacy {
		return q.cfg.Namespace + ".in.probe"
	}
	return q.partitionProbeSubject(i)
}

// partitionProbeSubject is the readiness probe's subject in partition p's
// stream.
func (q *Queue) partitionProbeSubject(p int) string {
	return q.cfg.Namespace + ".probe." + strconv.Itoa(p)
}

// purgeProbes removes probe messages that a crash left between their write
// and their deletion.
func (q *Queue) purgeProbes(ctx context.Context) error {
	for i, st := range q.distinctStreams() {
		if err := st.Purge(ctx, jetstream.WithPurgeSubject(q.probeSubject(i))); err != nil {
			return fmt.Errorf("purge probe messages: %w", err)
		}
	}
	return nil
}
