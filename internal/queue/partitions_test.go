package queue_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/queue"
)

// TestFewerPartitionsThanTheBacklogIsRefused: shrinking the partition count
// while batches wait on a removed partition would strand them, so Open
// refuses with the count to use.
func TestFewerPartitionsThanTheBacklogIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	q, err := queue.Open(ctx, queue.Config{Partitions: 4, Embedded: queue.EmbeddedConfig{DataDir: dir, SyncAlways: true}}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ev *usher.InboundEvent
	for i := 0; ; i++ { // find an order that lands on partition 3
		ev = &usher.InboundEvent{Source: "s", ID: "e", OrderID: "ord_" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), ReceivedAt: time.Now()}
		if q.PartitionOf(ev) == 3 {
			break
		}
	}
	if err := q.Enqueue(ctx, ev); err != nil {
		t.Fatal(err)
	}
	q.Close()
	_, err = queue.Open(ctx, queue.Config{Partitions: 2, Embedded: queue.EmbeddedConfig{DataDir: dir, SyncAlways: true}}, log, nil)
	if err == nil || !strings.Contains(err.Error(), "--partitions 4") {
		t.Fatalf("Open with 2 partitions over a backlog on partition 3: %v", err)
	}
	q, err = queue.Open(ctx, queue.Config{Partitions: 4, Embedded: queue.EmbeddedConfig{DataDir: dir, SyncAlways: true}}, log, nil)
	if err != nil {
		t.Fatalf("Open with 4 again: %v", err)
	}
	q.Close()
}
