package ingest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/ingest"
	"github.com/usherhq/usher/internal/webhook"
)

// BenchmarkReceive measures the receiver's own work on one signed order.paid
// (two items and a buyer) up to the enqueue, which is a no-op here: `verify`
// without a schema check and `verify+validate` with the catalog's inbound
// validator, in the same run, so their difference is the validator's cost
// per request.
func BenchmarkReceive(b *testing.B) {
	cat, err := events.Load()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("verify", func(b *testing.B) { benchReceive(b, ingest.Options{}) })
	b.Run("verify+validate", func(b *testing.B) { benchReceive(b, ingest.Options{Schemas: cat.InboundValidator()}) })
}

// benchReceive runs the receiver with opts on one signed order.paid and
// reports, beside the wall time, the process's CPU per request.
func benchReceive(b *testing.B, opts ingest.Options) {
	now := func() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }
	key := bytes.Repeat([]byte{7}, 32)
	opts.Now = now
	rc := ingest.NewReceiver(benchSources{key: key}, nopQueue{}, nopSealer{}, ingest.Config{}, opts)
	body := []byte(`{"type":"order.paid","timestamp":"2026-12-01T12:00:00Z","data":{"order_id":"ord_1001","show_id":"show_42","venue_id":"venue_1","items":[{"ticket_type":"GA","quantity":2},{"ticket_type":"VIP","quantity":1}],"buyer":{"email":"ada@example.com","name":"Ada"},"payment_intent":"pi_3Nx"}}`)
	scheme, _ := webhook.Lookup(webhook.SchemeStandardWebhooks)
	h := scheme.Sign("msg_bench", now(), body, webhook.Secret{ID: "k1", Key: key})
	h.Set("Content-Type", "application/json") // as senders send it
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := processCPU()
	defer func() { b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op") }()
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

type benchSources struct{ key []byte }

func (s benchSources) Source(context.Context, string) (usher.Source, []usher.SourceSecret, error) {
	return usher.Source{Name: "bench", Scheme: webhook.SchemeStandardWebhooks},
		[]usher.SourceSecret{{ID: "k1", Source: "bench", Secret: s.key, State: usher.SecretActive}}, nil
}

type nopQueue struct{}

func (nopQueue) Enqueue(context.Context, *usher.InboundEvent) error { return nil }

// nopSealer stands in for the master keys: sealing is measured elsewhere.
type nopSealer struct{}

func (nopSealer) Seal(p []byte, _ string) ([]byte, error) { return p, nil }
func (nopSealer) Open(p []byte, _ string) ([]byte, error) { return p, nil }
