package deploy

import (
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/server"
)

// otlpReceiver is an OTLP/HTTP trace receiver on 127.0.0.1 that decodes the
// real protobuf export requests, as a collector would.
type otlpReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string
	bad      []string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(r.export))
	t.Cleanup(r.Close)
	return r
}

func (r *otlpReceiver) export(w http.ResponseWriter, req *http.Request) {
	body, err := r.read(req)
	var msg coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &msg)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		r.bad = append(r.bad, fmt.Sprintf("%s %s %s: %v", req.Method, req.URL.Path, req.Header.Get("Content-Type"), err))
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	for _, rs := range msg.ResourceSpans {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				r.services = append(r.services, a.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			r.spans = append(r.spans, ss.Spans...)
		}
	}
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (r *otlpReceiver) read(req *http.Request) ([]byte, error) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			return nil, err
		}
		body = gz
	}
	return io.ReadAll(body)
}

// received returns a copy of the spans received so far.
func (r *otlpReceiver) received() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

func otlpAttr(attrs []*commonpb.KeyValue, key string) (string, bool) {
	for _, a := range attrs {
		if a.Key == key {
			return anyValue(a.Value), true
		}
	}
	return "", false
}

func anyValue(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

// deliveryReceiver answers every delivery 204 and keeps its traceparent.
func deliveryReceiver(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var parents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("traceparent"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(parents)
	}
}

// TestServeExportsOneTracePerEventOverOTLP runs `usher serve` configured
// only by the standard OpenTelemetry variables, pointed at an OTLP/HTTP
// receiver on 127.0.0.1, and follows one signed order.paid: its receive,
// enqueue, apply, feed publication and deliveries are one trace, the
// processing transaction links to it, every span names the event, and no
// attribute holds the buyer's personal data.
func TestServeExportsOneTracePerEventOverOTLP(t *testing.T) {
	t.Parallel()
	collector := newOTLPReceiver(t)
	subscriber, parents := deliveryReceiver(t)
	u := startUsher(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+collector.URL, "OTEL_SERVICE_NAME=usher-otlp-test",
		"OTEL_BSP_SCHEDULE_DELAY=100", "USHER_ALLOW_PRIVATE_DESTINATIONS=true", "USHER_DELIVERY_POLL_INTERVAL=100ms")
	sub := map[string]any{"url": subscriber.URL, "event_types": []string{"ticket.issued", "order.confirmed"}, "venue_ids": []string{server.DemoVenue}}
	if status := u.Admin(http.MethodPost, "/v1/subscriptions", sub, nil); status != http.StatusCreated {
		t.Fatalf("POST /v1/subscriptions: %d", status)
	}
	id := usher.NewID("msg_")
	body, _ := json.Marshal(map[string]any{"type": "order.paid", "timestamp": time.Now().UTC().Format(time.RFC3339), "data": map[string]any{
		"order_id": "ord_otlp_1", "show_id": server.DemoShow, "venue_id": server.DemoVenue,
		"items": []map[string]any{{"ticket_type": server.DemoTicketType, "quantity": 2}},
		"buyer": map[string]string{"email": "ada@example.com", "name": "Ada Lovelace"},
	}})
	if status := u.Send(id, body, nil); status != http.StatusAccepted {
		t.Fatalf("send: %d\n%s", status, u.logs)
	}
	deadline := time.Now().Add(time.Minute)
	for len(parents()) < 3 || len(spansNamed(collector.received(), "usher.deliver")) < 3 || len(spansNamed(collector.received(), "usher.feed.publish")) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %d deliveries, spans %v\n%s", len(parents()), spanNames(collector.received()), u.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	u.Stop() // flushes whatever is still buffered
	spans := collector.received()
	checkOneTrace(t, spans, id, parents())
	checkNoPersonalData(t, spans, "ada@example.com", "Lovelace", "Ada")
	collector.mu.Lock()
	defer collector.mu.Unlock()
	if len(collector.bad) > 0 || !slices.Contains(collector.services, "usher-otlp-test") {
		t.Errorf("bad exports %v; services %v, want usher-otlp-test", collector.bad, collector.services)
	}
	if strings.Contains(u.logs.String(), "level=ERROR") || strings.Contains(u.logs.String(), `"level":"ERROR"`) {
		t.Errorf("usher logged errors:\n%s", u.logs)
	}
}

// checkOneTrace checks that the spans of event id are one trace from
// receive to delivery, with usher's attributes.
func checkOneTrace(t *testing.T, spans []*tracepb.Span, id string, parents []string) {
	t.Helper()
	receive := spansOfEvent(spans, "usher.receive", id)
	if len(receive) != 1 {
		t.Fatalf("%d receive spans of %s; spans %v", len(receive), id, spanNames(spans))
	}
	traceID := receive[0].TraceId
	want := map[string]string{"usher.event_id": id, "usher.event_type": "order.paid", "usher.venue_id": server.DemoVenue,
		"usher.show_id": server.DemoShow, "usher.order_id": "ord_otlp_1"}
	for _, name := range []string{"usher.receive", "usher.enqueue", "usher.apply", "usher.feed.publish"} {
		got := spansOfEvent(spans, name, id)
		if len(got) != 1 || hex.EncodeToString(got[0].TraceId) != hex.EncodeToString(traceID) {
			t.Errorf("%s: %d spans of the event, want one in trace %x", name, len(got), traceID)
			continue
		}
		for k, v := range want {
			if a, _ := otlpAttr(got[0].Attributes, k); a != v {
				t.Errorf("%s: %s = %q, want %q", name, k, a, v)
			}
		}
		if a, _ := otlpAttr(got[0].Attributes, "usher.source"); a == "" {
			t.Errorf("%s: no usher.source", name)
		}
	}
	for name, keys := range map[string][]string{"usher.receive": {"http.request.method", "http.route", "http.response.status_code"},
		"usher.enqueue": {"messaging.system", "messaging.operation.type", "messaging.message.id"},
		"usher.apply":   {"messaging.system", "messaging.message.id"}} {
		for _, k := range keys {
			if _, ok := otlpAttr(spansOfEvent(spans, name, id)[0].Attributes, k); !ok {
				t.Errorf("%s: no semantic-convention attribute %s", name, k)
			}
		}
	}
	checkDeliveries(t, spans, traceID, parents)
	if !processLinks(spans, receive[0]) {
		t.Error("no usher.process span links to the receive span")
	}
	logTrace(t, spans, traceID)
}

// checkDeliveries: every delivery span is in the event's trace, and every
// delivery request carried a traceparent of that trace.
func checkDeliveries(t *testing.T, spans []*tracepb.Span, traceID []byte, parents []string) {
	t.Helper()
	for _, d := range spansNamed(spans, "usher.deliver") {
		if hex.EncodeToString(d.TraceId) != hex.EncodeToString(traceID) {
			t.Errorf("usher.deliver in trace %x, want %x", d.TraceId, traceID)
		}
		if a, _ := otlpAttr(d.Attributes, "http.response.status_code"); a != "204" {
			t.Errorf("usher.deliver: http.response.status_code %q, want 204", a)
		}
	}
	for _, p := range parents {
		if f := strings.Split(p, "-"); len(f) != 4 || f[1] != hex.EncodeToString(traceID) {
			t.Errorf("delivery traceparent %q, want trace %x", p, traceID)
		}
	}
}

func processLinks(spans []*tracepb.Span, to *tracepb.Span) bool {
	for _, p := range spansNamed(spans, "usher.process") {
		for _, l := range p.Links {
			if slices.Equal(l.SpanId, to.SpanId) && slices.Equal(l.TraceId, to.TraceId) {
				return true
			}
		}
	}
	return false
}

// checkNoPersonalData fails on any attribute, event or link attribute that
// holds one of the buyer's personal values.
func checkNoPersonalData(t *testing.T, spans []*tracepb.Span, personal ...string) {
	t.Helper()
	for _, s := range spans {
		attrs := slices.Clone(s.Attributes)
		for _, e := range s.Events {
			attrs = append(attrs, e.Attributes...)
		}
		for _, l := range s.Links {
			attrs = append(attrs, l.Attributes...)
		}
		for _, a := range attrs {
			for _, p := range personal {
				if v := anyValue(a.Value); strings.Contains(v, p) {
					t.Errorf("span %s: attribute %s = %q holds personal data", s.Name, a.Key, v)
				}
			}
		}
	}
}

// logTrace prints the trace as received: each span's name, kind and
// attributes, in start order.
func logTrace(t *testing.T, spans []*tracepb.Span, traceID []byte) {
	var in []*tracepb.Span
	for _, s := range spans {
		if slices.Equal(s.TraceId, traceID) {
			in = append(in, s)
		}
	}
	sort.Slice(in, func(i, j int) bool { return in[i].StartTimeUnixNano < in[j].StartTimeUnixNano })
	var b strings.Builder
	fmt.Fprintf(&b, "trace %x as the OTLP receiver decoded it:\n", traceID)
	for _, s := range in {
		var kv []string
		for _, a := range s.Attributes {
			kv = append(kv, a.Key+"="+anyValue(a.Value))
		}
		fmt.Fprintf(&b, "  %s span=%x parent=%x %s links=%d [%s]\n", s.Name, s.SpanId, s.ParentSpanId, s.Kind, len(s.Links), strings.Join(kv, " "))
	}
	t.Log(b.String())
}

func spansNamed(spans []*tracepb.Span, name string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func spansOfEvent(spans []*tracepb.Span, name, id string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spansNamed(spans, name) {
		if v, _ := otlpAttr(s.Attributes, "usher.event_id"); v == id {
			out = append(out, s)
		}
	}
	return out
}

func spanNames(spans []*tracepb.Span) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}
