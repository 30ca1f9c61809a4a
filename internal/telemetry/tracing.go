package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is usher's OpenTelemetry tracing: a TracerProvider and the W3C
// trace-context propagator. A nil *Tracing, or one built with tracing off,
// records nothing and costs nothing: every helper checks On first.
type Tracing struct {
	provider trace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	shutdown func(context.Context) error
}

// TracerName is the instrumentation scope of usher's spans.
const TracerName = "github.com/usherhq/usher"

// NewTracingFromProvider returns tracing that records into tp, for tests
// (an in-memory span recorder) and for an embedding program.
func NewTracingFromProvider(tp trace.TracerProvider) *Tracing {
	return &Tracing{provider: tp, tracer: tp.Tracer(TracerName), prop: propagation.TraceContext{},
		shutdown: func(context.Context) error { return nil }}
}

// NewTracing builds tracing from the standard OpenTelemetry variables read
// through getenv. It is off (nil, no error) unless OTEL_TRACES_EXPORTER or
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is
// set, or when OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true.
// OTEL_EXPORTER_OTLP_PROTOCOL picks http/protobuf (default) or grpc;
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG pick the sampler
// (default parentbased_always_on); OTEL_SERVICE_NAME names the service
// (default usher).
func NewTracing(ctx context.Context, getenv func(string) string, version string) (*Tracing, error) {
	exporter := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))
	endpoint := firstSet(getenv, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || exporter == "none" || (exporter == "" && endpoint == "") {
		return nil, nil
	}
	if exporter != "" && exporter != "otlp" {
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER %q: usher exports otlp or none", exporter)
	}
	sampler, err := samplerFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	exp, err := newExporter(ctx, getenv, endpoint)
	if err != nil {
		return nil, err
	}
	service := getenv("OTEL_SERVICE_NAME")
	if service == "" {
		service = "usher"
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", service), attribute.String("service.version", version)))
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp, err := NewTracerProvider(getenv, sdktrace.WithBatcher(exp), sdktrace.WithSampler(sampler), sdktrace.WithResource(res))
	if err != nil {
		return nil, err
	}
	t := NewTracingFromProvider(tp)
	t.shutdown = tp.Shutdown
	return t, nil
}

// NewTracerProvider returns a tracer provider with usher's span limits and
// opts. A processing transaction links to the receive span of every event
// it applies, which may be thousands in one merged transaction: the SDK's
// default of 128 links would silently drop the rest, so the link limit is
// none unless OTEL_SPAN_LINK_COUNT_LIMIT sets one. The other limits keep the
// SDK's defaults and variables.
func NewTracerProvider(getenv func(string) string, opts ...sdktrace.TracerProviderOption) (*sdktrace.TracerProvider, error) {
	limits := sdktrace.NewSpanLimits()
	limits.LinkCountLimit = -1
	if v := strings.TrimSpace(getenv("OTEL_SPAN_LINK_COUNT_LIMIT")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("OTEL_SPAN_LINK_COUNT_LIMIT %q: want a number", v)
		}
		limits.LinkCountLimit = n
	}
	return sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithRawSpanLimits(limits)}, opts...)...), nil
}

func firstSet(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
	}
	return ""
}

// newExporter makes the OTLP exporter of the protocol the environment names.
// The endpoint, when set, is a URL (the OTLP specification's form); for
// http/protobuf without a path the traces path /v1/traces is added, as the
// specification says for OTEL_EXPORTER_OTLP_ENDPOINT.
func newExporter(ctx context.Context, getenv func(string) string, endpoint string) (sdktrace.SpanExporter, error) {
	protocol := firstSet(getenv, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	switch protocol {
	case "", "http/protobuf":
		var opts []otlptracehttp.Option
		if endpoint != "" {
			u, err := url.Parse(endpoint)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("OTLP endpoint %q: want a URL such as http://collector:4318", endpoint)
			}
			if getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
				u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
			}
			opts = append(opts, otlptracehttp.WithEndpointURL(u.String()))
		}
		return otlptracehttp.New(ctx, opts...)
	case "grpc":
		var opts []otlptracegrpc.Option
		if endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(endpoint))
		}
		return otlptracegrpc.New(ctx, opts...)
	}
	return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: usher speaks http/protobuf or grpc", protocol)
}

// samplerFromEnv reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
func samplerFromEnv(getenv func(string) string) (sdktrace.Sampler, error) {
	name := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER"))
	arg := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG"))
	ratio := 1.0
	if arg != "" && strings.Contains(name, "traceidratio") {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG %q: want a ratio from 0 to 1", arg)
		}
		ratio = r
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER %q is not supported", name)
}

// On reports whether spans are made at all.
func (t *Tracing) On() bool { return t != nil }

// Tracer returns usher's tracer; only call it when On.
func (t *Tracing) Tracer() trace.Tracer { return t.tracer }

// Shutdown flushes the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("trace shutdown: %w", err)
	}
	return nil
}
