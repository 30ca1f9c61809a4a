package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/queue"
)

// TestProcessorStallIsReported: a processor whose every batch has failed
// for stallAfter is stalled; one applied batch clears it.
func TestProcessorStallIsReported(t *testing.T) {
	t.Parallel()
	var p progress
	fail := errors.New("store is read-only")
	var result error
	h := p.track(func(context.Context, queue.Batch) error { return result })
	result = fail
	_ = h(context.Background(), queue.Batch{})
	if err := stalledAt(&p, time.Now()); err != nil {
		t.Errorf("stalled right after one failure: %v", err)
	}
	if err := stalledAt(&p, time.Now().Add(stallAfter+time.Second)); !errors.Is(err, fail) {
		t.Errorf("after %s of failures: got %v, want stalled with %v", stallAfter, err, fail)
	}
	result = nil
	_ = h(context.Background(), queue.Batch{})
	if err := stalledAt(&p, time.Now().Add(time.Hour)); err != nil {
		t.Errorf("after an applied batch: got %v, want not stalled", err)
	}
}

// stalledAt returns what readiness says of p's failing batches alone (the
// backlog unknown), at now.
func stalledAt(p *progress, now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.verdict(now, nil)
}
