package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/queue"
)

// Readiness timings: a store write probe younger than probeFresh is reused,
// so that /readyz stays cheap under load; a partition that has failed every
// batch for stallAfter, or has had batches pending and none applied for
// stallAfter, is stalled.
const (
	probeFresh   = 2 * time.Second
	probeTimeout = 2 * time.Second
	stallAfter   = 30 * time.Second
)

// partitionQueue is what readiness asks the queue.
type partitionQueue interface {
	Ready(context.Context) error
	PartitionPending(context.Context) ([]uint64, error)
	AckFloor(ctx context.Context, partition int) (uint64, error)
}

// readiness answers /readyz.
type readiness struct {
	queue    partitionQueue
	store    func(context.Context) error // the store's write probe
	progress *progress                   // nil when this process does not process
	now      func() time.Time
}

// handleReadyz answers 200 when ingest and processing can both make
// progress: a write probe to the inbound stream succeeds, a write probe to
// the store commits, and no partition is stalled. Otherwise it answers 503
// with a problem naming each part that cannot progress.
func (a *App) handleReadyz() http.Handler {
	rd := readiness{
		queue: a.queue,
		store: func(ctx context.Context) error { return a.storeProbe.run(ctx, a.db.ProbeWrite) },
		now:   time.Now,
	}
	if a.cfg.Has(RoleProcess) {
		rd.progress = a.progress
	}
	return rd
}

func (rd readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), probeTimeout+time.Second)
	defer cancel()
	var code usher.Code
	var failures []string
	fail := func(c usher.Code, part string, err error) {
		if code == "" {
			code = c
		}
		failures = append(failures, part+": "+err.Error())
	}
	if err := rd.queue.Ready(ctx); err != nil {
		fail(usher.CodeQueueUnavailable, "queue write probe failed", err)
	}
	if err := rd.store(ctx); err != nil {
		fail(usher.CodeUnavailable, "store write probe failed", err)
	}
	if rd.progress != nil {
		if err := rd.progress.check(ctx, rd.now(), rd.queue); err != nil {
			fail(usher.CodeUnavailable, "processor stalled", err)
		}
	}
	if len(failures) > 0 {
		problem.Write(w, r, usher.Errorf(code, "not ready: %s", strings.Join(failures, "; ")))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
}

// storeProbe runs the store's write probe at most once per probeFresh.
type storeProbe struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

func (p *storeProbe) run(ctx context.Context, probe func(context.Context) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.at) < probeFresh {
		return p.err
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	p.err = probe(ctx)
	if errors.Is(p.err, context.Canceled) && ctx.Err() != nil {
		return p.err // the caller went away: do not keep its cancellation
	}
	p.at = time.Now()
	return p.err
}

// progress follows each partition: its batches' outcomes in this process,
// and, at each readiness check, its backlog and its consumer's ack floor
// (which rises when any process applies a batch of it).
type progress struct {
	mu    sync.Mutex
	parts map[int]*partitionProgress
}

type partitionProgress struct {
	failingSince time.Time // since when every batch here has failed; zero when not
	lastErr      error
	waitingSince time.Time // since when batches are pending and none was seen applied; zero when not
	floor        uint64    // the highest ack floor seen while batches were pending
	seen         bool      // floor has been read
}

// part returns partition n's record; p.mu is held.
func (p *progress) part(n int) *partitionProgress {
	if p.parts == nil {
		p.parts = map[int]*partitionProgress{}
	}
	if p.parts[n] == nil {
		p.parts[n] = &partitionProgress{}
	}
	return p.parts[n]
}

// track wraps the batch handler to record each outcome in its partition.
func (p *progress) track(h queue.Handler) queue.Handler {
	return func(ctx context.Context, b queue.Batch) error {
		err := h(ctx, b)
		p.mu.Lock()
		defer p.mu.Unlock()
		st := p.part(b.Partition)
		switch {
		case err == nil:
			st.failingSince, st.lastErr, st.waitingSince = time.Time{}, nil, time.Time{}
		case st.failingSince.IsZero():
			st.failingSince, st.lastErr = time.Now(), err
		default:
			st.lastErr = err
		}
		return err
	}
}

// check returns an error naming each stalled partition: every batch failed
// for stallAfter, or batches pending for stallAfter while none was applied,
// here or by another process. A partition with nothing pending is not
// stalled. When the queue cannot tell its backlog (its own probe then
// fails), only the failing batches count.
func (p *progress) check(ctx context.Context, now time.Time, q partitionQueue) error {
	pending, floors, err := partitionBacklog(ctx, q)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		return p.verdict(now, nil)
	}
	for n, waiting := range pending {
		p.part(n).observe(now, waiting, floors[n])
	}
	return p.verdict(now, pending)
}

// partitionBacklog reads each partition's pending batches, and the ack
// floor of those that have some.
func partitionBacklog(ctx context.Context, q partitionQueue) (pending, floors []uint64, err error) {
	if pending, err = q.PartitionPending(ctx); err != nil {
		return nil, nil, fmt.Errorf("partition backlog: %w", err)
	}
	floors = make([]uint64, len(pending))
	for n, waiting := range pending {
		if waiting == 0 {
			continue
		}
		if floors[n], err = q.AckFloor(ctx, n); err != nil {
			return nil, nil, fmt.Errorf("partition %d ack floor: %w", n, err)
		}
	}
	return pending, floors, nil
}

// observe records a readiness check's view of the partition: pending
// batches and its consumer's ack floor (0 while the consumer is missing).
func (st *partitionProgress) observe(now time.Time, pending, floor uint64) {
	if pending == 0 {
		*st = partitionProgress{} // nothing to apply, nothing failing
		return
	}
	if st.seen && floor > st.floor {
		// Applied since the last check, maybe by another process.
		st.failingSince, st.lastErr, st.waitingSince = time.Time{}, nil, time.Time{}
	}
	st.floor, st.seen = max(st.floor, floor), true
	if st.waitingSince.IsZero() {
		st.waitingSince = now
	}
}

// verdict names each stalled partition; pending is nil when the backlog is
// unknown. p.mu is held.
func (p *progress) verdict(now time.Time, pending []uint64) error {
	var errs stalls
	for _, n := range slices.Sorted(maps.Keys(p.parts)) {
		st := p.parts[n]
		switch {
		case !st.failingSince.IsZero() && now.Sub(st.failingSince) >= stallAfter:
			errs = append(errs, fmt.Errorf("partition %d: every batch has failed for %s: %w", n, now.Sub(st.failingSince).Round(time.Second), st.lastErr))
		case n < len(pending) && pending[n] > 0 && !st.waitingSince.IsZero() && now.Sub(st.waitingSince) >= stallAfter:
			errs = append(errs, fmt.Errorf("partition %d: %d batches pending and none applied for %s", n, pending[n], now.Sub(st.waitingSince).Round(time.Second)))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// stalls is one error per stalled partition.
type stalls []error

func (s stalls) Error() string {
	msgs := make([]string, len(s))
	for i, err := range s {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (s stalls) Unwrap() []error { return s }
