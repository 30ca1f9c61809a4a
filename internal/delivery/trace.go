package delivery

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/telemetry"
)

// tracedAttempt makes one attempt inside a client span that continues the
// trace of the inbound event that caused the outbound one; the request
// carries that span as its traceparent, so the subscriber can continue the
// same trace. With tracing off it is attempt.
func (s *Service) tracedAttempt(ctx context.Context, sub usher.Subscription, keys []usher.SubscriptionKey, d usher.Delivery) (result, timing) {
	t := s.tracing
	if !t.On() {
		return s.attempt(ctx, sub, keys, d)
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", http.MethodPost),
		attribute.String("usher.subscription_id", sub.ID),
		attribute.String("usher.outbound_event_id", d.EventID),
		attribute.String("usher.outbound_event_type", d.Type),
		telemetry.AttrOrderID.String(d.OrderID),
		telemetry.AttrVenueID.String(d.VenueID),
		attribute.Int("usher.delivery.attempt", d.Attempts+1),
	}
	if u, err := url.Parse(sub.URL); err == nil {
		attrs = append(attrs, attribute.String("server.address", u.Hostname())) // never the path or query: they may hold a secret
	}
	ctx, span := t.Tracer().Start(telemetry.RemoteContext(ctx, d.TraceParent), "usher.deliver",
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	r, tm := s.attempt(ctx, sub, keys, d)
	switch {
	case r.err != nil:
		// The transport's own error quotes the whole URL, query included;
		// record the description the attempt log keeps instead.
		desc := describeTransport(r.err)
		span.RecordError(errors.New(desc))
		span.SetStatus(codes.Error, desc)
	default:
		span.SetAttributes(attribute.Int("http.response.status_code", r.status))
		if r.status >= 400 {
			span.SetStatus(codes.Error, http.StatusText(r.status))
		}
	}
	return r, tm
}

// injectTrace sets the traceparent header of an attempt when tracing is on.
func (s *Service) injectTrace(ctx context.Context, h http.Header) {
	if s.tracing.On() {
		s.tracing.InjectHTTP(ctx, h)
	}
}
