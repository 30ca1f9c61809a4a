package processor

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/telemetry"
)

// Option configures a Processor.
type Option func(*Processor)

// WithTracing traces every processing transaction and every event applied
// in it.
func WithTracing(t *telemetry.Tracing) Option { return func(p *Processor) { p.tracing = t } }

// startTx starts the span of one processing transaction. It is a root of
// its own (one transaction applies the events of many traces) and links to
// the receive span of every event it applies, so that batching does not
// break any event's trace. An unsampled transaction reads no traceparent.
func (p *Processor) startTx(ctx context.Context, jobs []*job) (context.Context, trace.Span) {
	if !p.tracing.On() {
		return ctx, nil
	}
	ctx, span := p.tracing.Tracer().Start(ctx, "usher.process", trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindConsumer))
	if !span.IsRecording() {
		return ctx, span
	}
	events := 0
	for _, j := range jobs {
		events += len(j.b.Events)
		for i := range j.b.Events {
			if sc := telemetry.SpanContextOf(j.b.Events[i].TraceParent); sc.IsValid() {
				span.AddLink(trace.Link{SpanContext: sc})
			}
		}
	}
	span.SetAttributes(
		attribute.String("messaging.system", "nats"),
		attribute.String("messaging.operation.type", "process"),
		attribute.Int("messaging.batch.message_count", events),
		attribute.Int("usher.batches", len(jobs)),
	)
	return ctx, span
}

// startApply starts the span of one event's application inside the
// transaction, as a child of the event's receive span (its trace goes on
// here, across the queue and any restart) linked to the transaction's span.
// The outbound events it writes carry this span's context.
func (p *Processor) startApply(ctx context.Context, tx trace.Span, ev *usher.InboundEvent, delivered uint64) (context.Context, trace.Span) {
	if !p.tracing.On() {
		return ctx, nil
	}
	ctx = telemetry.RemoteContext(ctx, ev.TraceParent)
	ctx, span := p.tracing.Tracer().Start(ctx, "usher.apply", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(trace.LinkFromContext(trace.ContextWithSpan(ctx, tx))))
	if span.IsRecording() { // an unsampled trace keeps no attributes: do not read the event for them
		span.SetAttributes(telemetry.EventAttributes(ev)...)
		span.SetAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.message.id", ev.ID),
			attribute.Int64("messaging.message.delivery_count", int64(delivered)),
		)
	}
	return ctx, span
}

// traceID is the trace id of ev's receive span, kept on its dedupe record
// for the console's journey; "" when ev came in untraced.
func traceID(ev *usher.InboundEvent) string {
	if sc := telemetry.SpanContextOf(ev.TraceParent); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}

// endSpan ends a span that may be nil (tracing off).
func endSpan(span trace.Span, err error) {
	if span != nil {
		telemetry.EndSpan(span, err)
	}
}

// endApply ends an event's apply span with its outcome.
func endApply(span trace.Span, outcome string, err error) {
	if span == nil {
		return
	}
	span.SetAttributes(attribute.String("usher.outcome", outcome))
	telemetry.EndSpan(span, err)
}

// published records, for every order.paid the commit applied, the time
// from its acceptance to the commit that made its tickets readable in the
// venue feed, and the span of that publication.
func (p *Processor) published(ctx context.Context, results []result, done time.Time) {
	for _, r := range results {
		if r.ev.Type != usher.TypeOrderPaid || r.outcome != usher.OutcomeApplied {
			continue
		}
		venue := r.venue
		if venue == "" {
			venue = venueOf(r.ev)
		}
		fresh := done.Sub(r.ev.ReceivedAt)
		p.metrics.PaidToFeed.WithLabelValues(venue).Observe(fresh.Seconds())
		if !p.tracing.On() {
			continue
		}
		_, span := p.tracing.Tracer().Start(telemetry.RemoteContext(ctx, r.ev.TraceParent), "usher.feed.publish",
			trace.WithSpanKind(trace.SpanKindProducer), trace.WithTimestamp(done))
		if span.IsRecording() {
			span.SetAttributes(telemetry.EventAttributes(r.ev)...)
			span.SetAttributes(attribute.Float64("usher.freshness_seconds", fresh.Seconds()))
		}
		span.End(trace.WithTimestamp(done))
	}
}
