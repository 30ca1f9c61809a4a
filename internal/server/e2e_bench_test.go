package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
	"github.com/usherhq/usher/internal/webhook"
)

// BenchmarkEndToEnd measures one signed 1 KiB order.paid POST answered 202,
// by 1 and by 64 concurrent callers, against three targets in the same run:
//
//   - baseline: a bare net/http handler that reads the body and answers 202,
//     the machine's ceiling for this client;
//   - usher: the whole of usher in-process (verify, decode, durable enqueue
//     with fsync before the 202, and the processor applying the backlog on
//     the same two cores);
//   - usher-ingest-only: usher without the processor, the receiver alone.
//
// The client's work (signing, sending) is the same for all three, so the
// ratios of ns/op are the ratios of throughput. cpu-µs/op is the CPU of the
// whole process (client and server) per request: less moved by the other
// work on the machine than the throughput, and its difference to the
// baseline is what usher's own work costs. Each usher is fresh, so a
// backlog left by one sub-benchmark does not slow the next.
func BenchmarkEndToEnd(b *testing.B) {
	for _, callers := range []int{1, 64} {
		b.Run("callers="+strconv.Itoa(callers), func(b *testing.B) {
			b.Run("baseline", func(b *testing.B) {
				url := startBareHandler(b)
				benchPost(b, url, "demo", webhook.Secret{ID: "bench", Key: bytes.Repeat([]byte{7}, 32)}, callers)
			})
			b.Run("usher", func(b *testing.B) {
				s := startBenchUsher(b)
				benchPost(b, s.URL(), s.Source, s.Secret, callers)
				reportEventsPerWrite(b, s)
			})
			b.Run("usher-ingest-only", func(b *testing.B) {
				s := startBenchUsher(b, ushertest.WithRoles(server.RoleIngest))
				benchPost(b, s.URL(), s.Source, s.Secret, callers)
				reportEventsPerWrite(b, s)
			})
		})
	}
}

// startBenchUsher starts usher with its production partition count and a
// show large enough that no order is oversold.
func startBenchUsher(b *testing.B, opts ...ushertest.Option) *ushertest.Server {
	opts = append([]ushertest.Option{func(c *server.Config) { c.Partitions = 8 }}, opts...)
	s := ushertest.Start(b, opts...)
	if status := s.Admin(http.MethodPut, "/v1/shows/bench-show/inventory/GA", "", map[string]int{"capacity": 10_000_000}, nil); status != http.StatusOK {
		b.Fatalf("put capacity: %d", status)
	}
	return s
}

// reportEventsPerWrite reports the mean group-commit batch: events made
// durable by one stream write.
func reportEventsPerWrite(b *testing.B, s *ushertest.Server) {
	families, err := s.Metrics().Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "usher_enqueue_batch_events" && len(f.GetMetric()) == 1 {
			if h := f.GetMetric()[0].GetHistogram(); h.GetSampleCount() > 0 {
				b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount()), "events/write")
			}
		}
	}
}

// startBareHandler serves the machine's ceiling: read the body, answer 202.
func startBareHandler(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// benchBodyTemplate is an order.paid of about 1 KiB; %s is the order id.
var benchBodyTemplate = `{"type":"order.paid","timestamp":"` + time.Now().UTC().Format(time.RFC3339) +
	`","data":{"order_id":"%s","show_id":"bench-show","venue_id":"bench-venue","items":[{"ticket_type":"GA","quantity":2}],` +
	`"buyer":{"email":"ada@example.com","name":"Ada Lovelace"},"note":"` + strings.Repeat("x", 760) + `"}}`

// benchPost sends b.N signed webhooks with callers concurrent senders; each
// must be answered 202.
func benchPost(b *testing.B, baseURL, source string, secret webhook.Secret, callers int) {
	scheme, _ := webhook.Lookup(webhook.SchemeStandardWebhooks)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: callers, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)
	url := baseURL + "/webhooks/" + source
	var seq atomic.Int64
	var failed atomic.Value
	post := func() {
		n := strconv.FormatInt(seq.Add(1), 10)
		body := []byte(fmt.Sprintf(benchBodyTemplate, "ord_"+n))
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		for k, v := range scheme.Sign("msg_"+n, time.Now(), body, secret) {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			failed.CompareAndSwap(nil, err.Error())
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			failed.CompareAndSwap(nil, "status "+resp.Status)
		}
	}
	b.SetBytes(int64(len(benchBodyTemplate)))
	work := make(chan struct{})
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range work {
				post()
			}
		})
	}
	start, cpu := time.Now(), processCPU()
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(seq.Load())/time.Since(start).Seconds(), "req/s")
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(seq.Load()), "cpu-µs/op")
	if f := failed.Load(); f != nil {
		b.Fatalf("a webhook was not answered 202: %v", f)
	}
}
