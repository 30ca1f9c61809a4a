// Package loadgen is usher's load tool: it signs and sends real webhooks at
// a target rate or as fast as the server takes them, through a burst profile,
// with a mix of event types and a share of duplicates, and reports what it saw
// next to the server's own figures and, optionally, next to a bare net/http
// handler measured in the same run (the machine's ceiling).
package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/webhook"
)

// Config is one load run.
type Config struct {
	// URL of usher, e.g. http://127.0.0.1:8080.
	URL string
	// Source and Secret sign the webhooks (Standard Webhooks).
	Source string
	Secret []byte
	// Show, Venue and TicketType of the generated orders.
	Show, Venue, TicketType string
	// Rate is the peak requests per second; 0 sends as fast as possible
	// with Workers concurrent senders.
	Rate int
	// Ramp, Peak: the burst profile. The rate climbs linearly from a tenth of
	// Rate to Rate over Ramp, then holds at Rate for Peak. With Rate 0 only
	// Peak counts.
	Ramp, Peak time.Duration
	// Quiet and QuietRate: after the peak, send QuietRate requests per
	// second for Quiet (the on-sale profile: a burst, then the steady
	// trickle of a show on sale).
	Quiet     time.Duration
	QuietRate int
	// PhaseEnd, if not nil, is called when each phase ("ramp", "peak",
	// "max", "quiet") ends.
	PhaseEnd func(name string, at time.Time)
	// Workers is the number of concurrent senders. Default 64.
	Workers int
	// DuplicateRatio is the share of requests that resend an earlier event.
	DuplicateRatio float64
	// RefundRatio and ChargebackRatio are the shares of refunds and
	// chargebacks of earlier orders; the rest are order.paid.
	RefundRatio, ChargebackRatio float64
	// BodyPadding pads each body to about this many bytes (a realistic
	// provider payload is about 1 KiB). Default 1024.
	BodyPadding int
	// Progress, if not nil, is called about once a second.
	Progress func(Progress)
	// Observe, if not nil, is called after every request with the event
	// id and body it carried and what came back (status 0 with an error
	// when no answer did), from many goroutines at once. A crash test
	// uses it to know which webhooks were acknowledged.
	Observe func(id string, body []byte, status int, err error)
}

// Progress is a running count.
type Progress struct {
	Elapsed  time.Duration
	Sent     uint64
	Accepted uint64
	Errors   uint64
}

// Result is the client's view of a run.
type Result struct {
	Target         string         `json:"target"`
	Requests       uint64         `json:"requests"`
	Accepted       uint64         `json:"accepted"`
	Duration       time.Duration  `json:"duration_ns"`
	AcceptedPerS   float64        `json:"accepted_per_second"`
	P50, P99, P999 time.Duration  `json:"-"`
	P50ms          float64        `json:"ack_p50_ms"`
	P99ms          float64        `json:"ack_p99_ms"`
	P999ms         float64        `json:"ack_p999_ms"`
	Errors         map[string]int `json:"errors_by_class"`
	// PhaseRequests counts the requests sent in each phase, by its name
	// ("ramp", "peak", "max", "quiet").
	PhaseRequests map[string]uint64 `json:"requests_by_phase"`
	// Unique counts the distinct event ids sent (a duplicate resends one).
	Unique uint64   `json:"unique_events"`
	Orders []string `json:"-"`
}

// Run sends the load and returns the client's figures.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Workers == 0 {
		cfg.Workers = 64
	}
	if cfg.BodyPadding == 0 {
		cfg.BodyPadding = 1024
	}
	gen := &generator{cfg: cfg, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	scheme, _ := webhook.Lookup(webhook.SchemeStandardWebhooks)
	gen.scheme = scheme
	opts := []func(*vegeta.Attacker){
		vegeta.Workers(uint64(cfg.Workers)), vegeta.MaxWorkers(uint64(cfg.Workers)),
		vegeta.Connections(cfg.Workers), vegeta.KeepAlive(true), vegeta.HTTP2(false),
		vegeta.Timeout(30 * time.Second), vegeta.Redirects(vegeta.NoFollow),
	}
	if cfg.Observe != nil {
		opts = append(opts, vegeta.Client(observingClient(cfg.Workers, cfg.Observe)))
	}
	var metrics vegeta.Metrics
	res := Result{Target: cfg.URL, Errors: map[string]int{}, PhaseRequests: map[string]uint64{}}
	start := time.Now()
	lastReport := start
	for _, ph := range phases(cfg) {
		// An attacker stops for good when its attack ends: each phase
		// needs its own (sharing one, every phase after the first sent
		// nothing).
		attacker := vegeta.NewAttacker(opts...)
		for r := range attacker.Attack(gen.targeter(), ph.pacer, ph.duration, ph.name) {
			metrics.Add(r)
			res.Requests++
			res.PhaseRequests[ph.name]++
			if r.Code >= 200 && r.Code < 300 {
				res.Accepted++
			} else {
				res.Errors[errorClass(r)]++
			}
			if cfg.Progress != nil && time.Since(lastReport) >= time.Second {
				lastReport = time.Now()
				cfg.Progress(Progress{Elapsed: time.Since(start), Sent: res.Requests, Accepted: res.Accepted, Errors: res.Requests - res.Accepted})
			}
			if ctx.Err() != nil {
				attacker.Stop()
			}
		}
		if cfg.PhaseEnd != nil {
			cfg.PhaseEnd(ph.name, time.Now())
		}
	}
	metrics.Close()
	res.Duration = time.Since(start)
	res.AcceptedPerS = float64(res.Accepted) / res.Duration.Seconds()
	res.P50, res.P99, res.P999 = metrics.Latencies.P50, metrics.Latencies.P99, metrics.Latencies.Quantile(0.999)
	res.P50ms, res.P99ms, res.P999ms = ms(res.P50), ms(res.P99), ms(res.P999)
	res.Orders, res.Unique = gen.orders, uint64(gen.seq)
	return res, ctx.Err()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type phase struct {
	name     string
	pacer    vegeta.Pacer
	duration time.Duration
}

func phases(cfg Config) []phase {
	var out []phase
	if cfg.Rate <= 0 {
		out = append(out, phase{"max", vegeta.ConstantPacer{}, cfg.Peak})
	} else {
		out = append(out, ratePhases(cfg)...)
	}
	if cfg.Quiet > 0 && cfg.QuietRate > 0 {
		out = append(out, phase{"quiet", vegeta.Rate{Freq: cfg.QuietRate, Per: time.Second}, cfg.Quiet})
	}
	return out
}

func ratePhases(cfg Config) []phase {
	var out []phase
	if cfg.Ramp > 0 {
		start := float64(cfg.Rate) / 10
		slope := (float64(cfg.Rate) - start) / cfg.Ramp.Seconds()
		out = append(out, phase{"ramp", vegeta.LinearPacer{StartAt: vegeta.Rate{Freq: int(start), Per: time.Second}, Slope: slope}, cfg.Ramp})
	}
	return append(out, phase{"peak", vegeta.Rate{Freq: cfg.Rate, Per: time.Second}, cfg.Peak})
}

func errorClass(r *vegeta.Result) string {
	if r.Code == 0 {
		return "network"
	}
	return fmt.Sprintf("http_%d", r.Code)
}

// generator makes signed webhooks. vegeta calls the targeter from many
// goroutines, so it locks.
type generator struct {
	cfg    Config
	scheme webhook.Scheme
	mu     sync.Mutex
	rng    *rand.Rand
	seq    int
	tag    uint32
	orders []string
	sent   []sentEvent
}

type sentEvent struct {
	id   string
	body []byte
}

func (g *generator) targeter() vegeta.Targeter {
	url := g.cfg.URL + "/webhooks/" + g.cfg.Source
	return func(t *vegeta.Target) error {
		id, body := g.next()
		t.Method, t.URL, t.Body = http.MethodPost, url, body
		t.Header = g.scheme.Sign(id, time.Now(), body, webhook.Secret{Key: g.cfg.Secret})
		t.Header.Set("Content-Type", "application/json")
		return nil
	}
}

func (g *generator) next() (string, []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.rng.Float64()
	if p < g.cfg.DuplicateRatio && len(g.sent) > 0 {
		ev := g.sent[g.rng.IntN(len(g.sent))]
		return ev.id, ev.body
	}
	g.seq++
	// The generator's own random tag keeps ids apart between runs that
	// send at the same time.
	if g.tag == 0 {
		g.tag = g.rng.Uint32() | 1
	}
	id := fmt.Sprintf("bench_%d_%x_%d", time.Now().UnixNano(), g.tag, g.seq)
	var typ string
	var data map[string]any
	p = g.rng.Float64()
	switch {
	case len(g.orders) > 0 && p < g.cfg.RefundRatio:
		typ, data = usher.TypeOrderRefunded, map[string]any{"order_id": g.orders[g.rng.IntN(len(g.orders))]}
	case len(g.orders) > 0 && p < g.cfg.RefundRatio+g.cfg.ChargebackRatio:
		typ, data = usher.TypeOrderChargeback, map[string]any{"order_id": g.orders[g.rng.IntN(len(g.orders))]}
	default:
		order := fmt.Sprintf("ord_bench_%d_%x_%d", time.Now().UnixNano(), g.tag, g.seq)
		g.orders = append(g.orders, order)
		typ, data = usher.TypeOrderPaid, map[string]any{
			"order_id": order, "show_id": g.cfg.Show, "venue_id": g.cfg.Venue,
			"items": []map[string]any{{"ticket_type": g.cfg.TicketType, "quantity": 1}},
			"buyer": map[string]string{"email": "load@example.com", "name": "Load Test"},
		}
	}
	data["padding"] = padding(g.cfg.BodyPadding)
	body, _ := json.Marshal(map[string]any{"type": typ, "timestamp": time.Now().UTC().Format(time.RFC3339), "data": data})
	if len(g.sent) < 10000 {
		g.sent = append(g.sent, sentEvent{id, body})
	}
	return id, body
}

func padding(n int) string {
	if n <= 300 {
		return ""
	}
	b := make([]byte, n-300)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}
