package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/ushertest"
)

// traceURLTemplate is the tracing backend the console's test links to.
const traceURLTemplate = "http://jaeger.example:16686/trace/{trace_id}"

// traced turns tracing on (spans kept nowhere: only their ids matter here)
// and sets the console's trace link.
func traced(t *testing.T) ushertest.Option {
	tp, err := telemetry.NewTracerProvider(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := telemetry.NewTracingFromProvider(tp)
	return func(c *server.Config) { c.Tracing, c.TraceURLTemplate = tr, traceURLTemplate }
}

// tracedJourney sends an order.paid continuing a sender's trace and follows
// it on the journey page: the event shows its trace id, linked through the
// trace URL template.
func tracedJourney(t *testing.T, ctx context.Context, s *ushertest.Server, dir string) {
	t.Helper()
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	id := ushertest.NewID()
	req := s.SignedRequest(id, ushertest.Envelope("order.paid", ushertest.Paid("ord_console_traced", 1)))
	req.Header.Set("traceparent", "00-"+traceID+"-b7ad6b7169203331-01")
	if status, body := s.Do(req); status != http.StatusAccepted {
		t.Fatalf("send: %d %s", status, body)
	}
	ushertest.Eventually(t, wait, "the traced event applied", func() bool {
		recs, err := s.Store().InboundByEvent(context.Background(), id)
		return err == nil && len(recs) == 1
	})
	var href string
	var ok bool
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.URL()+"/console/journey?q="+id),
		chromedp.WaitVisible(".trace-id", chromedp.ByQuery),
		chromedp.AttributeValue(".trace-link", "href", &href, &ok, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("traced journey: %v", err)
	}
	if got := text(t, ctx, ".trace-id"); got != traceID {
		t.Errorf("trace id on the journey %q, want %s", got, traceID)
	}
	if want := strings.ReplaceAll(traceURLTemplate, "{trace_id}", traceID); !ok || href != want {
		t.Errorf("trace link %q, want %q", href, want)
	}
	shoot(t, ctx, dir, "journey-traced")
}
