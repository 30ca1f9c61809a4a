package queue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/queue"
)

// TestPartitionOrderSurvivesAFailedBatch: a batch that fails is applied
// again before anything newer of its partition, and every event is applied
// once, in the order it was enqueued.
func TestPartitionOrderSurvivesAFailedBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q, err := queue.Open(ctx, queue.Config{Partitions: 1, MaxInFlight: 8, Embedded: queue.EmbeddedConfig{DataDir: t.TempDir(), SyncAlways: false}},
		slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	const n = 60
	for i := range n {
		ev := &usher.InboundEvent{Source: "s", ID: fmt.Sprintf("e%03d", i), OrderID: "ord", ReceivedAt: time.Now()}
		if err := q.Enqueue(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var applied []string
	failedOnce := false
	done := make(chan struct{})
	cs, err := q.Consume(ctx, func(_ context.Context, b queue.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range b.Events {
			if ev.ID == "e020" && !failedOnce {
				failedOnce = true
				return errors.New("store busy") // the whole batch fails
			}
		}
		for _, ev := range b.Events {
			applied = append(applied, ev.ID)
		}
		if len(applied) == n {
			close(done)
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Stop()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("applied %d of %d", len(applied), n)
	}
	mu.Lock()
	defer mu.Unlock()
	if !failedOnce {
		t.Fatal("the failure was never injected")
	}
	for i, id := range applied {
		if want := fmt.Sprintf("e%03d", i); id != want {
			t.Fatalf("position %d: %s, want %s (order broken after a failed batch): %v", i, id, want, applied)
		}
	}
}
