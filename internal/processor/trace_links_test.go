package processor_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/processor"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/store/sqlite"
	"github.com/usherhq/usher/internal/telemetry"
)

// TestBigTransactionLinksEveryEvent applies one queued batch of more events
// than the OpenTelemetry SDK's default link limit (128) in one transaction,
// traced by usher's tracer provider: the transaction's span links to the
// receive span of every event, none dropped.
func TestBigTransactionLinksEveryEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp, err := telemetry.NewTracerProvider(func(string) string { return "" }, sdktrace.WithSpanProcessor(rec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(ctx) })
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "usher.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutCapacity(ctx, "bench-show", "GA", 10_000); err != nil {
		t.Fatal(err)
	}
	p := processor.New(db, processor.RandomCodes{}, telemetry.NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		time.Now, processor.WithTracing(telemetry.NewTracingFromProvider(tp)))
	t.Cleanup(func() { p.Close(); _ = db.Close() })

	const n = 300
	evs := make([]usher.InboundEvent, n)
	receive := map[trace.SpanID]bool{}
	for i := range evs {
		rctx, span := tp.Tracer("test").Start(ctx, "usher.receive")
		evs[i] = paidEvent(i + 1)
		evs[i].TraceParent = telemetry.TraceParent(rctx)
		receive[span.SpanContext().SpanID()] = true
		span.End()
	}
	if err := p.HandleBatch(ctx, queue.Batch{Events: evs, Delivered: 1}); err != nil {
		t.Fatal(err)
	}
	var process []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "usher.process" {
			process = append(process, s)
		}
	}
	if len(process) != 1 {
		t.Fatalf("%d processing spans, want one transaction", len(process))
	}
	linked := map[trace.SpanID]bool{}
	for _, l := range process[0].Links() {
		linked[l.SpanContext.SpanID()] = receive[l.SpanContext.SpanID()]
	}
	if got := len(linked); got != n || process[0].DroppedLinks() != 0 {
		t.Errorf("the transaction links %d receive spans (%d dropped), want all %d", got, process[0].DroppedLinks(), n)
	}
	for id, ok := range linked {
		if !ok {
			t.Errorf("link to %s, which is no event's receive span", id)
		}
	}
}

// BenchmarkHandleBatchTracing is BenchmarkHandleBatch's batch of 64
// order.paid events with tracing off, on at 100% and on at 1%
// (parentbased_traceidratio 0.01) in the same run, exported over OTLP/HTTP
// to a receiver on 127.0.0.1 that drops what it reads. Each event carries
// the traceparent of its receive span, made outside the timing by the
// same sampler, as it would from a traced receiver (at 1%, 1 in 100 events
// is sampled and the rest carry an unsampled parent).
func BenchmarkHandleBatchTracing(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(collector.Close)
	for _, m := range []struct{ name, sampler, arg string }{
		{"off", "", ""}, {"sampled=100%", "parentbased_always_on", ""}, {"sampled=1%", "parentbased_traceidratio", "0.01"},
	} {
		b.Run("tracing="+m.name, func(b *testing.B) {
			ctx := context.Background()
			var tr *telemetry.Tracing
			if m.sampler != "" {
				env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL, "OTEL_TRACES_SAMPLER": m.sampler, "OTEL_TRACES_SAMPLER_ARG": m.arg}
				var err error
				if tr, err = telemetry.NewTracing(ctx, func(k string) string { return env[k] }, "bench"); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = tr.Shutdown(ctx) })
			}
			db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "usher.db"))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.PutCapacity(ctx, "bench-show", "GA", 10_000_000); err != nil {
				b.Fatal(err)
			}
			p := processor.New(db, processor.RandomCodes{}, telemetry.NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, processor.WithTracing(tr))
			b.Cleanup(func() { p.Close(); _ = db.Close() })
			seq := 0
			b.ReportAllocs()
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer() // the receive spans are the receiver's cost, not the processor's
				evs := make([]usher.InboundEvent, 64)
				for i := range evs {
					seq++
					evs[i] = paidEvent(seq)
					if tr.On() {
						rctx, span := tr.Tracer().Start(ctx, "usher.receive")
						evs[i].TraceParent = telemetry.TraceParent(rctx)
						span.End()
					}
				}
				b.StartTimer()
				start := processCPU()
				if err := p.HandleBatch(ctx, queue.Batch{Events: evs, Delivered: 1}); err != nil {
					b.Fatal(err)
				}
				cpu += processCPU() - start
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/event")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*64), "cpu-µs/event")
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
