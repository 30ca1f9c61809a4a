package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/queue"
)

// BenchmarkEnqueue measures one durable enqueue of a 1 KiB event on the
// embedded JetStream, with fsync before every acknowledgement (SyncAlways)
// and with JetStream's default sync, by one caller and by 64 concurrent
// callers. With 64 callers the per-partition batchers make many events
// durable with one stream write (group commit); events/write shows how many.
func BenchmarkEnqueue(b *testing.B) {
	for _, sync := range []struct {
		name   string
		always bool
	}{{"sync=always", true}, {"sync=default", false}} {
		for _, callers := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/callers=%d", sync.name, callers), func(b *testing.B) {
				benchEnqueue(b, sync.always, callers)
			})
		}
	}
}

func benchEnqueue(b *testing.B, syncAlways bool, callers int) {
	var writes atomic.Int64
	q, err := queue.Open(context.Background(), queue.Config{
		Embedded: queue.EmbeddedConfig{DataDir: b.TempDir(), SyncAlways: syncAlways},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(int) { writes.Add(1) })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(q.Close)
	data, _ := json.Marshal(map[string]any{"show_id": "bench-show", "venue_id": "bench-venue", "note": strings.Repeat("x", 800)})
	var seq atomic.Int64
	enqueue := func() {
		n := seq.Add(1)
		ev := &usher.InboundEvent{
			Source: "bench", ID: "msg_" + strconv.FormatInt(n, 10), Type: usher.TypeOrderPaid,
			OrderID: "ord_" + strconv.FormatInt(n, 10), Timestamp: time.Now(), ReceivedAt: time.Now(),
			PayloadHash: strings.Repeat("ab", 32), KeyID: "k1", Data: data,
		}
		if err := q.Enqueue(context.Background(), ev); err != nil {
			b.Error(err)
		}
	}
	b.ReportAllocs()
	if callers == 1 {
		for b.Loop() {
			enqueue()
		}
	} else {
		b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				enqueue()
			}
		})
	}
	if w := writes.Load(); w > 0 {
		b.ReportMetric(float64(seq.Load())/float64(w), "events/write")
	}
}
