package queue_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/usherhq/usher/internal/queue"
)

// BenchmarkPublishBesideAcks measures what a consumer's acknowledgements
// cost the publishes beside them on the embedded JetStream with fsync
// before every acknowledgement (SyncAlways): one caller publishes 1 KiB
// messages one after another while a consumer takes and acknowledges each.
// On a work-queue stream (usher's inbound stream) every acknowledgement
// removes its message, and the removal is a write the file store syncs
// like a publish; on a limits stream an acknowledgement removes nothing.
// The two run in the same process, so their ratio is the cost of removal
// on acknowledgement; pub-p99-µs is the tail a webhook's 202 waits for.
func BenchmarkPublishBesideAcks(b *testing.B) {
	for _, retention := range []jetstream.RetentionPolicy{jetstream.WorkQueuePolicy, jetstream.LimitsPolicy} {
		b.Run("retention="+retention.String(), func(b *testing.B) {
			benchPublishBesideAcks(b, retention)
		})
	}
}

// syncedJetStream starts an embedded JetStream server that fsyncs every
// write before acknowledging it (usher's default) and connects in-process.
func syncedJetStream(b *testing.B) jetstream.JetStream {
	ns, err := queue.StartEmbedded(queue.EmbeddedConfig{DataDir: b.TempDir(), SyncAlways: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(ns.Shutdown)
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	return js
}

func benchPublishBesideAcks(b *testing.B, retention jetstream.RetentionPolicy) {
	js := syncedJetStream(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.*"}, Retention: retention, Storage: jetstream.FileStorage})
	if err != nil {
		b.Fatal(err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 64})
	if err != nil {
		b.Fatal(err)
	}
	var acked sync.WaitGroup
	acked.Add(1)
	go func() {
		defer acked.Done()
		it, err := cons.Messages()
		if err != nil {
			b.Error(err)
			return
		}
		context.AfterFunc(ctx, it.Stop)
		for {
			msg, err := it.Next()
			if err != nil {
				return
			}
			_ = msg.Ack()
		}
	}()
	data := []byte(strings.Repeat("x", 1024))
	latencies := make([]time.Duration, 0, 4096)
	for b.Loop() {
		start := time.Now()
		if _, err := js.Publish(ctx, "bench.1", data); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, time.Since(start))
	}
	b.StopTimer()
	cancel()
	acked.Wait()
	slices.Sort(latencies)
	at := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds())
	}
	b.ReportMetric(at(0.50), "pub-p50-µs")
	b.ReportMetric(at(0.99), "pub-p99-µs")
	b.ReportMetric(at(0.999), "pub-p99.9-µs")
}
