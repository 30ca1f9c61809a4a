// Package ushertest starts the whole of usher in-process for tests: real
// embedded NATS JetStream, real SQLite in a temporary directory, real HTTP on
// 127.0.0.1 with a random port.
package ushertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/delivery"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/webhook"
)

// AdminToken is the bootstrap token of every test server.
const AdminToken = "test-admin-token-0123456789"

// Server is a running usher under test.
type Server struct {
	*server.App
	Config server.Config
	// Source and Secret are the demo source and its signing key.
	Source string
	Secret webhook.Secret
	Client *http.Client
	t      testing.TB
	logs   io.Writer // also receives every log line, at debug level, when set
}

// Option changes the config of a test server.
type Option func(*server.Config)

// WithDataDir reuses a data directory, to restart on the same state.
func WithDataDir(dir string) Option { return func(c *server.Config) { c.DataDir = dir } }

// WithRoles sets the process roles.
func WithRoles(roles ...string) Option { return func(c *server.Config) { c.Roles = roles } }

// Start starts usher and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return start(t, nil, opts)
}

// StartLogging starts usher as Start does and also writes every log line,
// debug level and up, to logs, for a test that reads what usher logs.
func StartLogging(t testing.TB, logs io.Writer, opts ...Option) *Server {
	t.Helper()
	return start(t, logs, opts)
}

func start(t testing.TB, logs io.Writer, opts []Option) *Server {
	t.Helper()
	cfg := server.Config{
		Addr:       "127.0.0.1:0",
		DataDir:    t.TempDir(),
		AdminToken: AdminToken,
		Bootstrap:  true,
		Partitions: 4,
		// Test receivers listen on 127.0.0.1, and tests wait for deliveries.
		Delivery: delivery.Config{AllowPrivate: true, PollInterval: 50 * time.Millisecond},
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{Config: cfg, Client: &http.Client{Timeout: 30 * time.Second}, t: t, logs: logs}
	s.start()
	t.Cleanup(func() { s.Stop() })
	return s
}

func (s *Server) start() {
	s.t.Helper()
	log := telemetry.NewLogger(testOutput(s.t), slog.LevelWarn, "text")
	if s.logs != nil {
		log = telemetry.NewLogger(io.MultiWriter(testOutput(s.t), s.logs), slog.LevelDebug, "text")
	}
	app, err := server.Start(context.Background(), s.Config, log)
	if err != nil {
		s.t.Fatalf("start usher: %v", err)
	}
	s.App = app
	if app.Bootstrapped != nil {
		key, err := webhook.DecodeSecret(app.Bootstrapped.Secret)
		if err != nil {
			s.t.Fatalf("demo secret: %v", err)
		}
		s.Source, s.Secret = app.Bootstrapped.Source, webhook.Secret{ID: "test", Key: key}
	}
}

// Stop shuts usher down gracefully; calling it twice is harmless.
func (s *Server) Stop() {
	if s.App == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.App.Shutdown(ctx); err != nil {
		s.t.Errorf("shutdown: %v", err)
	}
	s.App = nil
}

// Restart stops usher and starts it again on the same data directory.
func (s *Server) Restart(opts ...Option) {
	s.t.Helper()
	s.Stop()
	s.Config.Addr = "127.0.0.1:0"
	for _, o := range opts {
		o(&s.Config)
	}
	s.start()
}

// Envelope builds a canonical webhook body.
func Envelope(typ string, data any) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "timestamp": time.Now().UTC().Format(time.RFC3339), "data": data})
	if err != nil {
		panic(err)
	}
	return b
}

// Paid returns the data of an order.paid for the demo show.
func Paid(orderID string, quantity int) map[string]any {
	return map[string]any{
		"order_id": orderID, "show_id": server.DemoShow, "venue_id": server.DemoVenue,
		"items": []map[string]any{{"ticket_type": server.DemoTicketType, "quantity": quantity}},
		"buyer": map[string]string{"email": "ada@example.com", "name": "Ada Lovelace"},
	}
}

// NewID returns a random event id.
func NewID() string { return usher.NewID("msg_") }

// SignedRequest builds a webhook request to the demo source, signed now.
func (s *Server) SignedRequest(eventID string, body []byte) *http.Request {
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/webhooks/"+s.Source, bytes.NewReader(body))
	if err != nil {
		s.t.Fatalf("request: %v", err)
	}
	scheme, _ := webhook.Lookup("standard-webhooks")
	for k, v := range scheme.Sign(eventID, time.Now(), body, s.Secret) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// Send signs and sends a webhook and returns the status and body.
func (s *Server) Send(eventID string, body []byte) (int, []byte) {
	return s.Do(s.SignedRequest(eventID, body))
}

// Do sends a request and returns the status and body.
func (s *Server) Do(req *http.Request) (int, []byte) {
	resp, err := s.Client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Admin calls the admin API with a token (the bootstrap token when empty)
// and decodes a JSON answer into out, if not nil.
func (s *Server) Admin(method, path, token string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL()+path, rd)
	if token == "" {
		token = AdminToken
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	status, b := s.Do(req)
	if out != nil && status < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return status
}

// Eventually polls cond until it holds or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testOutput(t testing.TB) io.Writer {
	if o, ok := t.(interface{ Output() io.Writer }); ok {
		return o.Output()
	}
	return io.Discard
}

// ScrapeMetrics returns the text of /metrics on the main listener, read with
// the bootstrap token (the route needs metrics:read).
func (s *Server) ScrapeMetrics() string {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+AdminToken)
	status, b := s.Do(req)
	if status != http.StatusOK {
		s.t.Fatalf("GET /metrics: %d %s", status, b)
	}
	return string(b)
}

// AdminTokenID returns the stored id of the bootstrap token AdminToken.
func (s *Server) AdminTokenID() string {
	s.t.Helper()
	t, found, err := s.Store().TokenByHash(context.Background(), auth.HashToken(AdminToken))
	if err != nil || !found {
		s.t.Fatalf("bootstrap token not stored: %v", err)
	}
	return t.ID
}
