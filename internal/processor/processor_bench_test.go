package processor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/processor"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/store/sqlite"
	"github.com/usherhq/usher/internal/telemetry"
)

// BenchmarkHandleBatch measures applying order.paid events (two tickets
// each) on a real SQLite store with full sync: a batch of one event is one
// transaction and one fsync'd commit; a batch of 64 shares them. ns/op is per
// batch; ns/event divides it by the batch size.
func BenchmarkHandleBatch(b *testing.B) {
	for _, size := range []int{1, 64} {
		b.Run(fmt.Sprintf("events=%d", size), func(b *testing.B) {
			ctx := context.Background()
			db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "usher.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = db.Close() })
			if _, err := db.PutCapacity(ctx, "bench-show", "GA", 10_000_000); err != nil {
				b.Fatal(err)
			}
			p := processor.New(db, processor.RandomCodes{}, telemetry.NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
			b.Cleanup(p.Close)
			seq := 0
			batch := func() queue.Batch {
				evs := make([]usher.InboundEvent, size)
				for i := range evs {
					seq++
					evs[i] = paidEvent(seq)
				}
				return queue.Batch{Events: evs, Delivered: 1}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := p.HandleBatch(ctx, batch()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/event")
		})
	}
}

func paidEvent(n int) usher.InboundEvent {
	id := strconv.Itoa(n)
	data, _ := json.Marshal(map[string]any{
		"order_id": "ord_" + id, "show_id": "bench-show", "venue_id": "bench-venue",
		"items": []map[string]any{{"ticket_type": "GA", "quantity": 2}},
		"buyer": map[string]string{"email": "ada@example.com", "name": "Ada Lovelace"},
		"note":  strings.Repeat("x", 700),
	})
	now := time.Now()
	return usher.InboundEvent{
		Source: "bench", ID: "msg_" + id, Type: usher.TypeOrderPaid, OrderID: "ord_" + id,
		Timestamp: now, ReceivedAt: now, PayloadHash: strings.Repeat("ab", 32), KeyID: "k1", Data: data,
	}
}
