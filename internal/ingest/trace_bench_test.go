package ingest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/ingest"
	"github.com/usherhq/usher/internal/telemetry"
)

// BenchmarkReceiveTracing is BenchmarkReceive's verify path (receive,
// verify, decode, the receive and enqueue spans, a no-op enqueue) with
// tracing off, on at 100% and on at 1% (parentbased_traceidratio 0.01) in
// the same run. Spans are exported over OTLP/HTTP protobuf to a receiver on
// 127.0.0.1 that drops them, so the export's CPU competes as in production.
// No disk is touched: the ratios are tracing's CPU cost on the
// receive→enqueue path.
func BenchmarkReceiveTracing(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(collector.Close)
	for _, m := range []struct{ name, sampler, arg string }{
		{"off", "", ""}, {"sampled=100%", "parentbased_always_on", ""}, {"sampled=1%", "parentbased_traceidratio", "0.01"},
	} {
		b.Run("tracing="+m.name, func(b *testing.B) {
			var tr *telemetry.Tracing
			if m.sampler != "" {
				env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL, "OTEL_TRACES_SAMPLER": m.sampler, "OTEL_TRACES_SAMPLER_ARG": m.arg}
				var err error
				if tr, err = telemetry.NewTracing(context.Background(), func(k string) string { return env[k] }, "bench"); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
			}
			benchReceive(b, ingest.Options{Tracing: tr})
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
