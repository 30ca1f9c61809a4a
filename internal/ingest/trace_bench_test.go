package ingest_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/ingest"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/webhook"
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
			benchReceiveTraced(b, tr)
		})
	}
}

func benchReceiveTraced(b *testing.B, tr *telemetry.Tracing) {
	now := func() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }
	key := bytes.Repeat([]byte{7}, 32)
	rc := ingest.NewReceiver(ingest.Config{Tracing: tr}, benchSources{key: key}, nopQueue{}, nopSealer{},
		telemetry.NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), now)
	body := []byte(`{"type":"order.paid","timestamp":"2026-12-01T12:00:00Z","data":{"order_id":"ord_1001","show_id":"show_42","venue_id":"venue_1","items":[{"ticket_type":"GA","quantity":2}],"buyer":{"email":"ada@example.com","name":"Ada"}}}`)
	scheme, _ := webhook.Lookup(webhook.SchemeStandardWebhooks)
	h := scheme.Sign("msg_bench", now(), body, webhook.Secret{ID: "k1", Key: key})
	b.ReportAllocs()
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	defer func() {
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
		b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-µs/op")
	}()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/bench", bytes.NewReader(body))
		req.SetPathValue("source", "bench")
		req.Header = h.Clone()
		rec := httptest.NewRecorder()
		rc.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	}
}
