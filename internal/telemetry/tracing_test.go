package telemetry_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/usherhq/usher/internal/telemetry"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestTracingIsOffWithoutTheVariables(t *testing.T) {
	t.Parallel()
	for _, m := range []map[string]string{{}, {"OTEL_SERVICE_NAME": "x"}, {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}} {
		tr, err := telemetry.NewTracing(t.Context(), env(m), "test")
		if err != nil || tr.On() {
			t.Errorf("%v: tracing %v, %v; want off", m, tr.On(), err)
		}
	}
	for _, m := range []map[string]string{{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}} {
		tr, err := telemetry.NewTracing(t.Context(), env(m), "test")
		if err != nil || !tr.On() {
			t.Errorf("%v: tracing %v, %v; want on", m, tr.On(), err)
		}
		_ = tr.Shutdown(context.Background())
	}
	for _, m := range []map[string]string{{"OTEL_TRACES_EXPORTER": "zipkin"}, {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
		{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
		{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SPAN_LINK_COUNT_LIMIT": "many"}} {
		if _, err := telemetry.NewTracing(t.Context(), env(m), "test"); err == nil {
			t.Errorf("%v: no error", m)
		}
	}
}

func TestLogLinesCarryTheTrace(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	defer span.End()
	var buf bytes.Buffer
	telemetry.NewLogger(&buf, slog.LevelInfo, "json").InfoContext(ctx, "applied")
	sc := span.SpanContext()
	if !strings.Contains(buf.String(), `"trace_id":"`+sc.TraceID().String()+`"`) || !strings.Contains(buf.String(), `"span_id":"`+sc.SpanID().String()+`"`) {
		t.Errorf("log line %s lacks the trace", buf.String())
	}
}
