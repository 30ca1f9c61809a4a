package processor_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
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
