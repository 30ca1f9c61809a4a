package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/queue"
)

// fakeBacklog stands in for the queue: its write probe succeeds, and the
// test sets each partition's pending batches and consumer ack floor.
type fakeBacklog struct {
	mu      sync.Mutex
	pending []uint64
	floors  []uint64
}

func (f *fakeBacklog) Ready(context.Context) error { return nil }

func (f *fakeBacklog) PartitionPending(context.Context) ([]uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint64(nil), f.pending...), nil
}

func (f *fakeBacklog) AckFloor(_ context.Context, p int) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.floors[p], nil
}

func (f *fakeBacklog) set(p int, pending, floor uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending[p], f.floors[p] = pending, floor
}

// readyzAt answers /readyz as of now and returns the status and body.
func readyzAt(t *testing.T, q partitionQueue, p *progress, now time.Time) (int, string) {
	t.Helper()
	rd := readiness{queue: q, store: func(context.Context) error { return nil }, progress: p, now: func() time.Time { return now }}
	rec := httptest.NewRecorder()
	rd.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusOK && rec.Header().Get("Content-Type") != problem.ContentType {
		t.Errorf("503 with Content-Type %q, want %q", rec.Header().Get("Content-Type"), problem.ContentType)
	}
	return rec.Code, rec.Body.String()
}

// batch runs one batch of partition p through the tracked handler.
func batch(h queue.Handler, p int) { _ = h(context.Background(), queue.Batch{Partition: p}) }

// TestStuckPartitionFailsReadiness: partition 0 has batches pending and
// none applied (its consumer deleted: nothing is handed over), while
// partition 1 keeps applying. /readyz used to stay 200, since only failed
// batches counted; after stallAfter it is 503 naming partition 0.
func TestStuckPartitionFailsReadiness(t *testing.T) {
	t.Parallel()
	var p progress
	h := p.track(func(context.Context, queue.Batch) error { return nil })
	q := &fakeBacklog{pending: []uint64{3, 2}, floors: []uint64{0, 40}}
	start := time.Now()
	for i := range 3 {
		now := start.Add(time.Duration(i) * stallAfter / 3)
		if status, body := readyzAt(t, q, &p, now); status != http.StatusOK {
			t.Fatalf("after %s: %d %s, want 200 within the stall window", now.Sub(start), status, body)
		}
		batch(h, 1) // partition 1 progresses, its backlog moving
		q.set(1, 2, 41+uint64(i))
	}
	status, body := readyzAt(t, q, &p, start.Add(stallAfter+time.Second))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("partition 0 stuck for %s: got %d %s, want 503", stallAfter, status, body)
	}
	if !strings.Contains(body, "partition 0: 3 batches pending and none applied") || strings.Contains(body, "partition 1") {
		t.Errorf("body %s: want partition 0 named as stuck, and not partition 1", body)
	}
	q.set(0, 0, 0) // drained (the consumer is back)
	if status, body := readyzAt(t, q, &p, start.Add(stallAfter+2*time.Second)); status != http.StatusOK {
		t.Errorf("partition 0 drained: got %d %s, want 200", status, body)
	}
}

// TestFailingPartitionFailsReadiness: with two partitions, a poison batch
// retried in partition 0 fails every time while partition 1 applies its
// batches. A success in partition 1 used to clear the stall, so /readyz
// stayed 200 as partition 0's backlog grew.
func TestFailingPartitionFailsReadiness(t *testing.T) {
	t.Parallel()
	var p progress
	poison := errors.New("constraint failed")
	h := p.track(func(_ context.Context, b queue.Batch) error {
		if b.Partition == 0 {
			return poison
		}
		return nil
	})
	q := &fakeBacklog{pending: []uint64{5, 1}, floors: []uint64{7, 70}}
	batch(h, 0)
	if err := p.check(context.Background(), time.Now(), q); err != nil {
		t.Fatalf("right after the first failure: %v", err)
	}
	for i := range 3 {
		batch(h, 0)
		batch(h, 1)
		q.set(1, 1, 71+uint64(i))
	}
	later := time.Now().Add(stallAfter + time.Second)
	if err := stalledAt(&p, later); !errors.Is(err, poison) || !strings.Contains(err.Error(), "partition 0") {
		t.Errorf("stalled after %s of failures in partition 0: got %v, want partition 0 with %v", stallAfter, err, poison)
	}
	status, body := readyzAt(t, q, &p, later)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "partition 0: every batch has failed") || strings.Contains(body, "partition 1") {
		t.Errorf("got %d %s, want 503 naming partition 0 only", status, body)
	}
}

// TestHealthyPartitionsStayReady: no false alarm for a partition with
// nothing pending, nor for one whose batches another process applies (its
// ack floor rises though none is applied here).
func TestHealthyPartitionsStayReady(t *testing.T) {
	t.Parallel()
	var p progress
	q := &fakeBacklog{pending: []uint64{0, 4}, floors: []uint64{0, 100}}
	start := time.Now()
	for i := range 5 {
		now := start.Add(time.Duration(i) * stallAfter / 2)
		if status, body := readyzAt(t, q, &p, now); status != http.StatusOK {
			t.Fatalf("after %s: got %d %s, want 200", now.Sub(start), status, body)
		}
		q.set(1, 4, 101+uint64(i)) // applied elsewhere, as fast as it arrives
	}
	h := p.track(func(context.Context, queue.Batch) error { return errors.New("transient") })
	batch(h, 0) // failed once here, then applied by another process: drained
	if status, body := readyzAt(t, q, &p, start.Add(time.Hour)); status != http.StatusOK {
		t.Errorf("after a failure in a drained partition: got %d %s, want 200", status, body)
	}
}
