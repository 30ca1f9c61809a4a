package telemetry

import (
	"context"
	"encoding/json"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/usherhq/usher"
)

// Attribute keys of usher's spans. Never a buyer's email, name or any
// vaulted field: only identifiers.
const (
	AttrSource    = attribute.Key("usher.source")
	AttrEventType = attribute.Key("usher.event_type")
	AttrEventID   = attribute.Key("usher.event_id")
	AttrVenueID   = attribute.Key("usher.venue_id")
	AttrShowID    = attribute.Key("usher.show_id")
	AttrOrderID   = attribute.Key("usher.order_id")
)

// EventAttributes are the attributes naming ev on every span of its trace.
// The venue and show come from the canonical data, which names them for
// every order event; nothing else of the data is read.
func EventAttributes(ev *usher.InboundEvent) []attribute.KeyValue {
	var d struct {
		VenueID string `json:"venue_id"`
		ShowID  string `json:"show_id"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	return []attribute.KeyValue{
		AttrSource.String(ev.Source), AttrEventType.String(ev.Type), AttrEventID.String(ev.ID),
		AttrVenueID.String(d.VenueID), AttrShowID.String(d.ShowID), AttrOrderID.String(ev.OrderID),
	}
}

// TraceParent renders the span context of ctx as a W3C traceparent value,
// "" when ctx holds no valid span.
func TraceParent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c["traceparent"]
}

// RemoteContext returns ctx with the span context a traceparent value
// names as its remote parent; ctx unchanged when the value is empty or
// malformed.
func RemoteContext(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// SpanContextOf returns the span context a traceparent value names.
func SpanContextOf(traceparent string) trace.SpanContext {
	return trace.SpanContextFromContext(RemoteContext(context.Background(), traceparent))
}

// ExtractHTTP returns ctx continuing the W3C trace context of h, if any.
func (t *Tracing) ExtractHTTP(ctx context.Context, h http.Header) context.Context {
	return t.prop.Extract(ctx, propagation.HeaderCarrier(h))
}

// InjectHTTP writes the span context of ctx into h as traceparent (and
// tracestate).
func (t *Tracing) InjectHTTP(ctx context.Context, h http.Header) {
	t.prop.Inject(ctx, propagation.HeaderCarrier(h))
}

// EndSpan ends span, marking it failed when err is not nil.
func EndSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
