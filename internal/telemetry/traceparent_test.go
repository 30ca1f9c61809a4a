package telemetry_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/usherhq/usher/internal/telemetry"
)

// viaPropagator is the W3C propagator's reading of a traceparent value, the
// reference SpanContextOf must agree with.
func viaPropagator(tp string) trace.SpanContext {
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": tp})
	return trace.SpanContextFromContext(ctx)
}

var traceparents = []string{
	"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
	"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
	"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
}

// TestTraceParentAgreesWithThePropagator: usher's own traceparent parsing
// and formatting read and write what the W3C propagator does.
func TestTraceParentAgreesWithThePropagator(t *testing.T) {
	t.Parallel()
	for _, tp := range traceparents {
		got, want := telemetry.SpanContextOf(tp), viaPropagator(tp)
		if !got.Equal(want) {
			t.Errorf("%q: got %v, the propagator reads %v", tp, got, want)
		}
		if !want.IsValid() {
			continue
		}
		ctx := trace.ContextWithRemoteSpanContext(context.Background(), want)
		c := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(ctx, c)
		if out := telemetry.TraceParent(ctx); out != c["traceparent"] {
			t.Errorf("%q written as %q, the propagator writes %q", tp, out, c["traceparent"])
		}
		if rc := telemetry.RemoteContext(context.Background(), tp); !trace.SpanContextFromContext(rc).Equal(want) {
			t.Errorf("%q: RemoteContext holds %v", tp, trace.SpanContextFromContext(rc))
		}
	}
}

func FuzzSpanContextOf(f *testing.F) {
	for _, tp := range traceparents {
		f.Add(tp)
	}
	f.Fuzz(func(t *testing.T, tp string) {
		if got, want := telemetry.SpanContextOf(tp), viaPropagator(tp); !got.Equal(want) {
			t.Errorf("%q: got %v, the propagator reads %v", tp, got, want)
		}
	})
}
