package queue_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkPublishPartitions measures the embedded JetStream's synced writes
// (SyncAlways) when each partition has one writer publishing 1 KiB messages
// one after another, as usher's group-commit batchers do under load: all
// partitions' subjects in one stream, or one stream per partition. The
// layouts run in one process; their ratio is what a stream's single write
// path costs partitions that share it.
func BenchmarkPublishPartitions(b *testing.B) {
	for _, partitions := range []int{2, 4} {
		for _, perPartition := range []bool{false, true} {
			layout := "one-stream"
			if perPartition {
				layout = "stream-per-partition"
			}
			b.Run(fmt.Sprintf("partitions=%d/layout=%s", partitions, layout), func(b *testing.B) {
				benchPublishPartitions(b, partitions, perPartition)
			})
		}
	}
}

func benchPublishPartitions(b *testing.B, partitions int, perPartition bool) {
	js := syncedJetStream(b)
	ctx := context.Background()
	if perPartition {
		for p := range partitions {
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: fmt.Sprintf("BENCH_%d", p), Subjects: []string{fmt.Sprintf("bench.%d", p)}, Storage: jetstream.FileStorage}); err != nil {
				b.Fatal(err)
			}
		}
	} else if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.*"}, Storage: jetstream.FileStorage}); err != nil {
		b.Fatal(err)
	}
	data := []byte(strings.Repeat("x", 1024))
	per := b.N/partitions + 1
	latencies := make([][]time.Duration, partitions)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for p := range partitions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			subject := fmt.Sprintf("bench.%d", p)
			lat := make([]time.Duration, 0, per)
			for range per {
				t := time.Now()
				if _, err := js.Publish(ctx, subject, data); err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, time.Since(t))
			}
			latencies[p] = lat
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(latencies...)
	slices.Sort(all)
	at := func(q float64) float64 {
		return float64(all[int(q*float64(len(all)-1))].Microseconds())
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "writes/s")
	b.ReportMetric(at(0.50), "pub-p50-µs")
	b.ReportMetric(at(0.99), "pub-p99-µs")
}
