// Package ingest is usher's receiver: it stops bad traffic at the edge
// (unknown sources, oversized or wrongly typed bodies, bad signatures, stale
// timestamps) and answers 202 only after the event is durable in the queue.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/httpjson"
	"github.com/usherhq/usher/internal/personal"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/rawjson"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/webhook"
)

// Enqueuer makes an event durable; it returns only once it is.
type Enqueuer interface {
	Enqueue(ctx context.Context, ev *usher.InboundEvent) error
}

// Config configures the receiver.
type Config struct {
	// MaxBodyBytes is the largest accepted body. Default 1 MiB.
	MaxBodyBytes int64
	// SourceCacheTTL is how long a source's secrets are cached. Default 5s.
	SourceCacheTTL time.Duration
	// EnqueueTimeout bounds the wait for the durable write. Default 10s.
	EnqueueTimeout time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Receivers is how many receivers share a deployment's webhooks behind
	// a balancer; each admits 1/Receivers of a source's rate and burst, so
	// the deployment as a whole keeps the configured rate. Default 1.
	Receivers int
}

// Options are the receiver's collaborators; each has a default.
type Options struct {
	// Logger receives refusals and enqueue failures; default: discarded.
	Logger *slog.Logger
	// Metrics counts what the receiver accepts and refuses; default: a
	// fresh set no one scrapes.
	Metrics *telemetry.Metrics
	// Now is the clock of timestamp tolerance and rate limits; default
	// time.Now.
	Now func() time.Time
	// Schemas, when set, refuses canonical data that does not validate
	// against its type's schema (400 schema_violation) before it is
	// enqueued. Default nil: no schema check.
	Schemas Schemas
	// Tracing, when on, traces every webhook (nil: off).
	Tracing *telemetry.Tracing
}

func (o Options) withDefaults() Options {
	o.Logger = telemetry.OrDiscard(o.Logger)
	if o.Metrics == nil {
		o.Metrics = telemetry.NewMetrics()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// WithDefaults returns the config with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.SourceCacheTTL == 0 {
		c.SourceCacheTTL = 5 * time.Second
	}
	if c.EnqueueTimeout == 0 {
		c.EnqueueTimeout = 10 * time.Second
	}
	if c.Receivers < 1 {
		c.Receivers = 1
	}
	return c
}

// Receiver handles POST /webhooks/{source}.
type Receiver struct {
	cfg      Config
	schemas  Schemas
	tracing  *telemetry.Tracing
	sources  *sourceCache
	limiters limiters
	queue    Enqueuer
	sealer   personal.Sealer
	metrics  *telemetry.Metrics
	log      *slog.Logger
	now      func() time.Time
}

// NewReceiver returns a Receiver. sealer (the master keys) seals the
// personal data of every event before it is enqueued; it needs no store,
// so the receiver keeps accepting while the store is down.
func NewReceiver(sources SourceStore, q Enqueuer, sealer personal.Sealer, cfg Config, opts Options) *Receiver {
	cfg, opts = cfg.WithDefaults(), opts.withDefaults()
	rc := &Receiver{
		cfg: cfg, schemas: opts.Schemas, tracing: opts.Tracing,
		sources: newSourceCache(sources, cfg.SourceCacheTTL, opts.Now), queue: q, sealer: sealer,
		metrics: opts.Metrics, log: opts.Logger, now: opts.Now,
	}
	rc.limiters.share = cfg.Receivers
	return rc
}

// ForgetSource drops a cached source after an admin change.
func (rc *Receiver) ForgetSource(name string) { rc.sources.forget(name) }

// Accepted is the body of a 202 answer.
type Accepted struct {
	Status string `json:"status"`
	Source string `json:"source"`
	ID     string `json:"id"`
	Type   string `json:"type"`
}

// ServeHTTP verifies, enqueues and acknowledges one webhook.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := rc.now()
	name := r.PathValue("source")
	r, span := rc.startReceive(r, name)
	ev, err := rc.receive(r, name, start)
	defer endReceive(span, err)
	if err != nil {
		rc.reject(w, r, name, err)
		return
	}
	rc.metrics.InboundRequests.WithLabelValues(name, "accepted").Inc()
	rc.metrics.IngestAckSeconds.WithLabelValues(name).Observe(rc.now().Sub(start).Seconds())
	rc.metrics.KeyVerified.WithLabelValues(name, ev.KeyID).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(acceptedBody(name, ev.ID, ev.Type))
}

// acceptedBody is the 202 body, Accepted{"accepted", source, id, typ}, as
// json.Encoder writes it (newline included), without reflection.
func acceptedBody(source, id, typ string) []byte {
	b := make([]byte, 0, 64+len(source)+len(id)+len(typ))
	b = rawjson.AppendString(append(b, `{"status":"accepted","source":`...), source)
	b = rawjson.AppendString(append(b, `,"id":`...), id)
	b = rawjson.AppendString(append(b, `,"type":`...), typ)
	return append(b, "}\n"...)
}

func (rc *Receiver) receive(r *http.Request, name string, now time.Time) (*usher.InboundEvent, error) {
	src, err := rc.admit(r, name, now)
	if err != nil {
		return nil, err
	}
	limit := rc.cfg.MaxBodyBytes
	if src.policy.maxBody > 0 {
		limit = src.policy.maxBody
	}
	body, err := readBody(r, limit)
	if err != nil {
		return nil, err
	}
	v, err := src.scheme.Verify(r.Header, body, src.verifyingSecrets(now), now, src.tolerance)
	if err != nil {
		return nil, err
	}
	if err := usher.ValidateEventID(src.scheme.EventIDField(), v.EventID); err != nil {
		return nil, err
	}
	// The data is decoded once, here, for the schema check, the order id
	// and the sealing.
	n, err := webhook.NormalizeDecoded(src.scheme, v, body)
	if err != nil {
		return nil, err
	}
	if err := rc.validate(n.Type, n.Decoded.Values); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	ev := &usher.InboundEvent{
		Source: name, ID: v.EventID, Type: n.Type, OrderID: webhook.OrderIDOfFields(n.Decoded.Fields),
		Timestamp: n.Timestamp, ReceivedAt: now, PayloadHash: hex.EncodeToString(sum[:]),
		KeyID: v.SecretID, Data: n.Data, Original: n.Original,
	}
	if err := personal.SealObject(rc.sealer, ev, n.Decoded); err != nil {
		return nil, usher.WrapError(usher.CodeInternal, err, "personal data could not be sealed")
	}
	ctx, cancel := context.WithTimeout(r.Context(), rc.cfg.EnqueueTimeout)
	defer cancel()
	if err := rc.enqueue(ctx, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// admit runs the checks that need no body: the method, the source, its
// address allowlist, its rate limit and the media type. It returns the
// source whose secrets verify the body.
func (rc *Receiver) admit(r *http.Request, name string, now time.Time) (*source, error) {
	if r.Method != http.MethodPost {
		return nil, usher.Errorf(usher.CodeMethodNotAllowed, "webhooks are POSTed")
	}
	src, err := rc.sources.get(r.Context(), name)
	if err != nil {
		return nil, err
	}
	client, err := clientAddr(r, rc.cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	if !src.policy.allows(client) {
		return nil, usher.Errorf(usher.CodeAddressNotAllowed, "address %s is not on the allowlist of source %q", client, name)
	}
	if err := take(rc.limiters.get(name, src.rate, src.burst), now); err != nil {
		return nil, err
	}
	if err := httpjson.CheckContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	return src, nil
}

func (rc *Receiver) reject(w http.ResponseWriter, r *http.Request, name string, err error) {
	code := usher.ErrorCode(err)
	label := name
	if code == usher.CodeUnknownSource {
		label = "_unknown" // made-up names must not grow the label set
	}
	rc.metrics.InboundRequests.WithLabelValues(label, string(code)).Inc()
	level := slog.LevelInfo
	if problem.Status(code) >= 500 {
		level = slog.LevelError
	}
	rc.log.Log(r.Context(), level, "webhook rejected", "source", label, "reason", code, "remote", r.RemoteAddr, "err", err)
	if code == usher.CodeMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	if secs, ok := retryAfterSeconds(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	problem.Write(w, r, err)
}

// readBody reads at most limit bytes; a declared or actual larger body is
// refused without reading the rest.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, usher.Errorf(usher.CodeBodyTooLarge, "body of %d bytes is over the limit of %d", r.ContentLength, limit)
	}
	body, err := readAll(io.LimitReader(r.Body, limit+1), r.ContentLength)
	if err != nil {
		return nil, usher.WrapError(usher.CodeInvalid, err, "could not read the body")
	}
	if int64(len(body)) > limit {
		return nil, usher.Errorf(usher.CodeBodyTooLarge, "body is over the limit of %d bytes", limit)
	}
	return body, nil
}

// readAll is io.ReadAll with a first buffer of the declared length (and
// one byte to see the end in), so that a body of known length is read
// without growing and copying the buffer on the way.
func readAll(r io.Reader, declared int64) ([]byte, error) {
	size := 512
	if declared >= 0 && declared < 1<<30 {
		size = int(declared) + 1
	}
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
