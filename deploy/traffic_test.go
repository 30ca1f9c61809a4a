package deploy

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/scanner"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

// driveEveryFamily gives every metric family of the rules and the dashboard
// a sample and returns the scrape taken while the venue's feed stream is
// open: an order.paid (ingest, queue, processing, freshness), two
// subscriptions to a receiver that answers 503 (one retries in an hour:
// pending deliveries; one gives up after a second: dead letters), a feed
// page (scanner freshness), an online scan and an offline batch with a
// duplicate entry (scan alerts).
func driveEveryFamily(t *testing.T, s *ushertest.Server) string {
	t.Helper()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	for _, schedule := range []string{"1h", "1s"} {
		sub := map[string]any{"url": failing.URL, "event_types": []string{usher.TypeOrderConfirmed}, "retry_schedule": []string{schedule}}
		if status := s.Admin(http.MethodPost, "/v1/subscriptions", "", sub, nil); status != http.StatusCreated {
			t.Fatalf("POST /v1/subscriptions: %d", status)
		}
	}
	if status, body := s.Send(ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_metrics_1", 2))); status != http.StatusAccepted {
		t.Fatalf("send: %d %s", status, body)
	}
	var order usher.Order
	ushertest.Eventually(t, time.Minute, "the order's tickets", func() bool {
		return s.Admin(http.MethodGet, "/v1/orders/ord_metrics_1", "", nil, &order) == http.StatusOK && len(order.Tickets) == 2
	})
	var page scanner.FeedPage
	if status := s.Admin(http.MethodGet, "/v1/venues/"+server.DemoVenue+"/feed?after=0", "", nil, &page); status != http.StatusOK {
		t.Fatalf("feed: %d", status)
	}
	code := order.Tickets[0].Code
	scan := scanner.ScanRequest{Code: code, VenueID: server.DemoVenue, DeviceID: "gate-1", ScannedAt: time.Now().UTC()}
	if status := s.Admin(http.MethodPost, "/v1/scans", "", scan, nil); status != http.StatusOK {
		t.Fatalf("scan: %d", status)
	}
	later := time.Now().UTC().Add(time.Minute)
	batch := []scanner.BatchScan{{Code: code, VenueID: server.DemoVenue, DeviceID: "gate-2", ScannedAt: later, Nonce: "n-1", Decision: "admitted"}}
	if status := s.Admin(http.MethodPost, "/v1/scans/batch", "", batch, nil); status != http.StatusOK {
		t.Fatalf("offline batch: %d", status)
	}
	closeStream := openFeedStream(t, s)
	defer closeStream()
	var scrape string
	ushertest.Eventually(t, time.Minute, "deliveries retried and dead-lettered", func() bool {
		scrape = s.ScrapeMetrics()
		return strings.Contains(scrape, `outcome="dead_lettered"`) && strings.Contains(scrape, "\nusher_delivery_pending{") &&
			strings.Contains(scrape, "usher_paid_to_feed_seconds_count") && strings.Contains(scrape, "\nusher_scanner_connected{")
	})
	return scrape
}

// openFeedStream opens the demo venue's feed as Server-Sent Events, as a
// gate would, and returns once the first event arrived.
func openFeedStream(t *testing.T, s *ushertest.Server) (closeStream func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/v1/venues/"+server.DemoVenue+"/feed?after=0", nil)
	req.Header.Set("Authorization", "Bearer "+ushertest.AdminToken)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("feed stream: %v %v", err, resp)
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		cancel()
		t.Fatalf("feed stream: %v", err)
	}
	return func() { cancel(); resp.Body.Close() }
}
