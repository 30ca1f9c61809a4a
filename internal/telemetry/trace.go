package telemetry

import (
	"context"
	"encoding/hex"
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
// "" when ctx holds no valid span. It is written for every event and every
// outbound event while tracing is on, sampled or not, so it formats the
// value itself rather than through a propagator's carrier.
func TraceParent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	tid, sid := sc.TraceID(), sc.SpanID()
	var b [55]byte
	copy(b[:], "00-")
	hex.Encode(b[3:35], tid[:])
	b[35] = '-'
	hex.Encode(b[36:52], sid[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{byte(sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom))})
	return string(b[:])
}

// RemoteContext returns ctx with the span context a traceparent value
// names as its remote parent; ctx unchanged when the value is empty or
// malformed.
func RemoteContext(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	if sc := SpanContextOf(traceparent); sc.IsValid() {
		return trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	return ctx
}

// SpanContextOf returns the span context a traceparent value names, the
// zero (invalid) span context when it names none. Version 00, the one usher
// writes, is parsed directly; any other goes through the W3C propagator.
func SpanContextOf(traceparent string) trace.SpanContext {
	if len(traceparent) != 55 || traceparent[:3] != "00-" || traceparent[35] != '-' || traceparent[52] != '-' {
		if traceparent == "" {
			return trace.SpanContext{}
		}
		ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceparent})
		return trace.SpanContextFromContext(ctx)
	}
	tid, err1 := trace.TraceIDFromHex(traceparent[3:35])
	sid, err2 := trace.SpanIDFromHex(traceparent[36:52])
	var flags [1]byte
	_, err3 := hex.Decode(flags[:], []byte(traceparent[53:55]))
	if err1 != nil || err2 != nil || err3 != nil || !isLowerHex(traceparent[53:55]) || flags[0] > 3 { // version 00 defines two flags
		return trace.SpanContext{}
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
		TraceFlags: trace.TraceFlags(flags[0]), Remote: true})
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
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
