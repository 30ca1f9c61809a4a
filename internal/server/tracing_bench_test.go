package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/ushertest"
)

// BenchmarkTracingOverhead measures what tracing costs: the signed 1 KiB
// order.paid POST of BenchmarkEndToEnd, by 1 and 64 callers, against usher
// with tracing off, on at 100% sampling and on at 1%
// (parentbased_traceidratio 0.01), in the same run. Tracing on exports over
// OTLP/HTTP protobuf to a receiver on 127.0.0.1 that reads and drops each
// request, so the export's work is counted too. usher-ingest-only is the
// receive and durable-enqueue path alone; usher adds the processor (one
// transaction span, one apply and one feed span per event) on the same
// cores. The ratio of a mode's ns/op to off's is tracing's cost; on a
// shared machine, where the wall time of an fsync'd webhook swings with the
// neighbours' disk use, cpu-µs/op (the process's user+system CPU per
// webhook: client, usher and exporter alike) and allocs/op resolve it
// better.
func BenchmarkTracingOverhead(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(collector.Close)
	modes := []struct{ name, sampler, arg string }{
		{"off", "", ""},
		{"sampled=100%", "parentbased_always_on", ""},
		{"sampled=1%", "parentbased_traceidratio", "0.01"},
	}
	targets := []struct {
		name string
		opts []ushertest.Option
	}{
		{"usher-ingest-only", []ushertest.Option{ushertest.WithRoles(server.RoleIngest)}},
		{"usher", nil},
	}
	for _, callers := range []int{1, 64} {
		for _, target := range targets {
			for _, m := range modes {
				b.Run("callers="+strconv.Itoa(callers)+"/"+target.name+"/tracing="+m.name, func(b *testing.B) {
					tr := benchTracing(b, collector.URL, m.sampler, m.arg)
					s := startBenchUsher(b, append([]ushertest.Option{func(c *server.Config) { c.Tracing = tr }}, target.opts...)...)
					b.ReportAllocs()
					cpu := processCPU()
					benchPost(b, s.URL(), s.Source, s.Secret, callers)
					b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
				})
			}
		}
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchTracing builds tracing as `usher serve` does from its environment;
// nil (off) when sampler is empty.
func benchTracing(b *testing.B, endpoint, sampler, arg string) *telemetry.Tracing {
	if sampler == "" {
		return nil
	}
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_TRACES_SAMPLER": sampler, "OTEL_TRACES_SAMPLER_ARG": arg}
	tr, err := telemetry.NewTracing(context.Background(), func(k string) string { return env[k] }, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}
