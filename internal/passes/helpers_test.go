package passes_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/admin"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/passes"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/secrets"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/enginetest"
	"github.com/usherhq/usher/internal/ticketcode"
)

const adminToken = "passes-test-admin-token"

// clock is a controllable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is the pass service on a real SQLite store (secrets sealed under a
// master key) behind the admin guard, as usher mounts it.
type env struct {
	t     *testing.T
	db    *store.DB
	clock *clock
	svc   *passes.Service
	srv   *httptest.Server
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	db := enginetest.SQLite(t)
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	sealer, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	db.SetSealer(sealer)
	// A step boundary plus 5 s, so that tests know where the window lies.
	clk := &clock{now: time.Date(2026, 6, 1, 20, 0, 5, 0, time.UTC)}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := passes.New(db, passes.Config{}, passes.Options{Logger: log, Now: clk.Now})
	if err != nil {
		t.Fatalf("passes.New: %v", err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(svc.Stop)
	if err := admin.RegisterBootstrapToken(ctx, db, adminToken, clk.Now(), log); err != nil {
		t.Fatalf("RegisterBootstrapToken: %v", err)
	}
	authn := auth.NewAuthenticator(db, clk.Now, log)
	mux := http.NewServeMux()
	for _, rt := range svc.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, authn.Guard(rt.Scope, rt.Handler))
	}
	for pattern, h := range svc.PublicRoutes() {
		mux.Handle(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, clock: clk, svc: svc, srv: srv}
}

// ticket stores a paid order with one ticket whose code is signed by the
// service's keys, and returns the ticket.
func (e *env) ticket(id string) usher.Ticket {
	e.t.Helper()
	c := ticketcode.Claims{TicketID: id, ShowID: "show_demo", VenueID: "venue_demo", Generation: 1}
	code, err := e.svc.Codes().Issue(c)
	if err != nil {
		e.t.Fatalf("Issue: %v", err)
	}
	t := usher.Ticket{TicketID: id, OrderID: "ord_" + id, ShowID: c.ShowID, VenueID: c.VenueID, TicketType: "GA",
		Status: usher.TicketValid, Code: code, Generation: 1}
	err = e.db.InTx(e.t.Context(), func(tx *store.Tx) error {
		o := usher.Order{OrderID: t.OrderID, ShowID: t.ShowID, VenueID: t.VenueID, Status: usher.OrderPaid,
			Items: []usher.Item{{TicketType: "GA", Quantity: 1}}}
		if err := tx.InsertOrder(e.t.Context(), o, usher.Buyer{}); err != nil {
			return err
		}
		return tx.InsertTicket(e.t.Context(), t)
	})
	if err != nil {
		e.t.Fatalf("store ticket: %v", err)
	}
	return t
}

func (e *env) revokeTicket(id string) {
	e.t.Helper()
	err := e.db.InTx(e.t.Context(), func(tx *store.Tx) error {
		return tx.SwapTicketStatus(e.t.Context(), id, usher.TicketValid, usher.TicketRevoked)
	})
	if err != nil {
		e.t.Fatalf("revoke ticket: %v", err)
	}
}

// token issues an admin token with the scopes.
func (e *env) token(scopes ...string) string {
	e.t.Helper()
	_, secret, err := admin.IssueToken(e.t.Context(), e.db, usher.Token{Scopes: scopes, Description: "test", CreatedAt: e.clock.Now()})
	if err != nil {
		e.t.Fatalf("IssueToken: %v", err)
	}
	return secret
}

// do sends a request; token "" sends none. It returns the status, the
// headers and the body.
func (e *env) do(method, path, token string, body any, header ...string) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	url := path
	if len(path) > 0 && path[0] == '/' {
		url = e.srv.URL + path
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, url, rd)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// json calls the API and decodes a 2xx answer into out.
func (e *env) json(method, path, token string, body, out any, wantStatus int) {
	e.t.Helper()
	status, _, b := e.do(method, path, token, body)
	if status != wantStatus {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, status, b, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// wantProblem checks a problem response: its code, and the status the
// problem table gives that code.
func wantProblem(t *testing.T, what string, status int, h http.Header, body []byte, code usher.Code) {
	t.Helper()
	var d problem.Details
	if err := json.Unmarshal(body, &d); err != nil || h.Get("Content-Type") != problem.ContentType {
		t.Fatalf("%s: %d %s (%s), want a problem", what, status, body, h.Get("Content-Type"))
	}
	if d.Code != string(code) || status != problem.Status(code) || d.Status != status || d.Type != problem.TypeURI(code) {
		t.Fatalf("%s = %d %s, want code %s with status %d", what, status, body, code, problem.Status(code))
	}
}

func (e *env) decode(b []byte, out any) {
	e.t.Helper()
	if err := json.Unmarshal(b, out); err != nil {
		e.t.Fatalf("decode %s: %v", b, err)
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
