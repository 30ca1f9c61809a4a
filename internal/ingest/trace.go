package ingest

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/telemetry"
)

// startReceive starts the span of one webhook (receive and verify),
// continuing the W3C trace context the request carries, if any. With
// tracing off it returns r and a nil span.
func (rc *Receiver) startReceive(r *http.Request, name string) (*http.Request, trace.Span) {
	t := rc.tracing
	if !t.On() {
		return r, nil
	}
	ctx := t.ExtractHTTP(r.Context(), r.Header)
	ctx, span := t.Tracer().Start(ctx, "usher.receive", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", r.Method),
		attribute.String("http.route", "/webhooks/{source}"),
		attribute.String("url.path", r.URL.Path),
		telemetry.AttrSource.String(name),
	))
	return r.WithContext(ctx), span
}

// endReceive ends the receive span with the status answered.
func endReceive(span trace.Span, err error) {
	if span == nil {
		return
	}
	status := http.StatusAccepted
	if err != nil {
		status = problem.Status(usher.ErrorCode(err))
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, err.Error())
	} else if err != nil {
		span.SetAttributes(attribute.String("usher.rejected", string(usher.ErrorCode(err))))
	}
	span.End()
}

// enqueue makes ev durable inside a span of its own, after stamping the
// event with the receive span's traceparent: the trace travels with the
// event through the queue.
func (rc *Receiver) enqueue(ctx context.Context, ev *usher.InboundEvent) error {
	t := rc.tracing
	if !t.On() {
		return rc.queue.Enqueue(ctx, ev)
	}
	// An unsampled trace (1 in 100 sampled, say) records nothing: skip
	// reading the event's venue and show for attributes no one keeps.
	var attrs []attribute.KeyValue
	if recv := trace.SpanFromContext(ctx); recv.IsRecording() {
		attrs = telemetry.EventAttributes(ev)
		recv.SetAttributes(attrs...)
	}
	ev.TraceParent = telemetry.TraceParent(ctx)
	ctx, span := t.Tracer().Start(ctx, "usher.enqueue", trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.operation.name", "publish"),
			attribute.String("messaging.message.id", ev.ID),
		))
	err := rc.queue.Enqueue(ctx, ev)
	telemetry.EndSpan(span, err)
	return err
}
