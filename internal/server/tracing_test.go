package server_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/ushertest"
)

// recorded is an in-memory span recorder behind usher's tracing.
type recorded struct{ *tracetest.SpanRecorder }

func withRecorder(t *testing.T) (ushertest.Option, recorded) {
	rec := tracetest.NewSpanRecorder()
	tp, err := telemetry.NewTracerProvider(func(string) string { return "" }, sdktrace.WithSpanProcessor(rec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	tr := telemetry.NewTracingFromProvider(tp)
	return func(c *server.Config) { c.Tracing = tr }, recorded{rec}
}

// named returns the ended spans called name.
func (r recorded) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// byEvent returns the spans called name of the inbound event id.
func (r recorded) byEvent(name, id string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.named(name) {
		if attr(s, "usher.event_id") == id {
			out = append(out, s)
		}
	}
	return out
}

func TestTraceFollowsAWebhookToItsDeliveries(t *testing.T) {
	t.Parallel()
	opt, rec := withRecorder(t)
	s := ushertest.Start(t, opt)
	rc := newDLVReceiver(t, nil)
	subscribe(t, s, map[string]any{"url": rc.URL, "event_types": []string{"ticket.issued", "order.confirmed"}, "venue_ids": []string{server.DemoVenue}})

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	id := ushertest.NewID()
	req := s.SignedRequest(id, ushertest.Envelope("order.paid", ushertest.Paid("ord_trace_1", 2)))
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	if status, body := s.Do(req); status != http.StatusAccepted {
		t.Fatalf("send: %d %s", status, body)
	}
	ushertest.Eventually(t, dlvWait, "3 deliveries traced", func() bool {
		return len(rc.requests()) >= 3 && len(rec.named("usher.deliver")) >= 3
	})
	for _, r := range rc.requests() {
		sc := telemetry.SpanContextOf(r.header.Get("traceparent"))
		if sc.TraceID().String() != traceID {
			t.Errorf("delivery %s: traceparent %q, want trace %s", r.id(), r.header.Get("traceparent"), traceID)
		}
	}
	receive := rec.byEvent("usher.receive", id)
	if len(receive) != 1 || receive[0].Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("receive spans %v: want one, child of the sender's span", receive)
	}
	for _, name := range []string{"usher.receive", "usher.enqueue", "usher.apply", "usher.feed.publish"} {
		spans := rec.byEvent(name, id)
		if len(spans) != 1 || spans[0].SpanContext().TraceID().String() != traceID {
			t.Errorf("%s: %d spans, want 1 in trace %s", name, len(spans), traceID)
			continue
		}
		want := map[string]string{"usher.source": s.Source, "usher.event_type": "order.paid", "usher.venue_id": server.DemoVenue,
			"usher.show_id": server.DemoShow, "usher.order_id": "ord_trace_1"}
		for k, v := range want {
			if got := attr(spans[0], k); got != v {
				t.Errorf("%s: %s = %q, want %q", name, k, got, v)
			}
		}
	}
	apply := rec.byEvent("usher.apply", id)[0]
	if apply.Parent().SpanID() != receive[0].SpanContext().SpanID() {
		t.Errorf("apply's parent %s, want the receive span %s", apply.Parent().SpanID(), receive[0].SpanContext().SpanID())
	}
	for _, d := range rec.named("usher.deliver") {
		if d.SpanContext().TraceID().String() != traceID || d.Parent().SpanID() != apply.SpanContext().SpanID() {
			t.Errorf("deliver span in trace %s under %s, want trace %s under apply", d.SpanContext().TraceID(), d.Parent().SpanID(), traceID)
		}
	}
	if !linksTo(rec.named("usher.process"), receive[0].SpanContext()) {
		t.Error("no processing transaction links to the receive span")
	}
	assertNoPersonalData(t, rec)
}

// A failed delivery's span names the failure without the subscriber URL's
// query, which may hold the subscriber's secret (Go's transport errors
// quote the whole URL).
func TestTraceOfAFailedDeliveryHoldsNoURLQuery(t *testing.T) {
	t.Parallel()
	opt, rec := withRecorder(t)
	s := ushertest.Start(t, opt)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close() // nothing listens there now: every attempt fails to connect
	const secret = "SUPERSECRET123"
	subscribe(t, s, map[string]any{"url": "http://" + closed + "/hook?token=" + secret, "event_types": []string{"order.confirmed"}})
	if status, body := s.Do(s.SignedRequest(ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_trace_q", 1)))); status != http.StatusAccepted {
		t.Fatalf("send: %d %s", status, body)
	}
	ushertest.Eventually(t, dlvWait, "a failed delivery traced", func() bool {
		for _, d := range rec.named("usher.deliver") {
			if d.Status().Code == otelcodes.Error {
				return true
			}
		}
		return false
	})
	for _, d := range rec.named("usher.deliver") {
		texts := []string{d.Status().Description}
		for _, e := range d.Events() {
			for _, kv := range e.Attributes {
				texts = append(texts, kv.Value.Emit())
			}
		}
		for _, kv := range d.Attributes() {
			texts = append(texts, kv.Value.Emit())
		}
		for _, text := range texts {
			if strings.Contains(text, secret) {
				t.Errorf("deliver span holds the URL's query: %q", text)
			}
		}
		if d.Status().Code == otelcodes.Error && !strings.HasPrefix(d.Status().Description, "connect: ") {
			t.Errorf("deliver span status %q, want the attempt's description (connect: …)", d.Status().Description)
		}
	}
}

// linksTo reports whether one of spans links to sc.
func linksTo(spans []sdktrace.ReadOnlySpan, sc trace.SpanContext) bool {
	for _, s := range spans {
		for _, l := range s.Links() {
			if l.SpanContext.SpanID() == sc.SpanID() && l.SpanContext.TraceID() == sc.TraceID() {
				return true
			}
		}
	}
	return false
}

func assertNoPersonalData(t *testing.T, rec recorded) {
	t.Helper()
	for _, s := range rec.Ended() {
		for _, kv := range s.Attributes() {
			v := kv.Value.Emit()
			if strings.Contains(v, "ada@example.com") || strings.Contains(v, "Lovelace") {
				t.Errorf("span %s attribute %s holds personal data: %q", s.Name(), kv.Key, v)
			}
		}
	}
}

// Events accepted by an ingest-only usher wait in the stream; the usher
// that processes them after a restart applies them in one transaction. Each
// event's trace goes on across the restart, and the transaction links to
// every event's receive span.
func TestTraceSurvivesRestartAndBatching(t *testing.T) {
	t.Parallel()
	opt, first := withRecorder(t)
	s := ushertest.Start(t, opt, ushertest.WithRoles(server.RoleIngest))
	const n = 12
	ids := make([]string, n)
	for i := range ids {
		ids[i] = ushertest.NewID()
		mustAccept(t, s, ids[i], ushertest.Envelope("order.paid", ushertest.Paid(fmt.Sprintf("ord_trace_b%d", i), 1)))
	}
	if got := len(first.named("usher.apply")); got != 0 {
		t.Fatalf("an ingest-only usher applied %d events", got)
	}
	opt2, second := withRecorder(t)
	s.Restart(opt2, ushertest.WithRoles(server.RoleIngest, server.RoleProcess))
	ushertest.Eventually(t, dlvWait, "every event applied", func() bool {
		return len(second.named("usher.feed.publish")) >= n
	})
	maxLinks := 0
	for _, p := range second.named("usher.process") {
		maxLinks = max(maxLinks, len(p.Links()))
	}
	if maxLinks < 2 {
		t.Errorf("no processing transaction applied several events (most links %d)", maxLinks)
	}
	for _, id := range ids {
		recv := first.byEvent("usher.receive", id)
		apply := second.byEvent("usher.apply", id)
		if len(recv) != 1 || len(apply) != 1 {
			t.Fatalf("event %s: %d receive, %d apply spans", id, len(recv), len(apply))
		}
		if apply[0].SpanContext().TraceID() != recv[0].SpanContext().TraceID() || apply[0].Parent().SpanID() != recv[0].SpanContext().SpanID() {
			t.Errorf("event %s: apply in trace %s under %s, want under receive %s", id,
				apply[0].SpanContext().TraceID(), apply[0].Parent().SpanID(), recv[0].SpanContext().SpanID())
		}
		if !linksTo(second.named("usher.process"), recv[0].SpanContext()) {
			t.Errorf("event %s: no processing transaction links to its receive span", id)
		}
	}
}

// TestTraceURLTemplateMustNameTheTraceID: the console's trace link template
// is an http(s) URL holding {trace_id}, or nothing.
func TestTraceURLTemplateMustNameTheTraceID(t *testing.T) {
	t.Parallel()
	for tpl, ok := range map[string]bool{
		"": true, "http://jaeger:16686/trace/{trace_id}": true, "https://grafana.example/explore?trace={trace_id}&x=1": true,
		"http://jaeger:16686/trace/": false, "javascript:alert({trace_id})": false, "/trace/{trace_id}": false,
	} {
		cfg := server.Config{TraceURLTemplate: tpl}.WithDefaults()
		if err := cfg.Validate(); (err == nil) != ok {
			t.Errorf("template %q: validate %v, want ok %v", tpl, err, ok)
		}
	}
}
