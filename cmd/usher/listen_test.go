package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// receiver is a local webhook endpoint that verifies what it is sent with
// the secret usher listen printed.
type receiver struct {
	mu             sync.Mutex
	secret         string
	valid, invalid int
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(rv.secret)
	if err == nil {
		err = wh.Verify(body, r.Header)
	}
	if err != nil {
		rv.invalid++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rv.valid++
	w.WriteHeader(http.StatusNoContent)
}

func (rv *receiver) counts() (int, int) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return rv.valid, rv.invalid
}

// TestListenPrintsAndForwardsDeliveries: usher listen against a usher that
// refuses private destinations opens a temporary subscription, prints each
// delivery with its headers and a valid signature, forwards it to a local
// receiver that verifies it with the printed secret, and the subscription
// is gone once the command stops.
func TestListenPrintsAndForwardsDeliveries(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t, ushertest.WithConfig(func(c *server.Config) { c.Delivery.AllowPrivate = false }))
	rv := &receiver{}
	local := httptest.NewServer(rv)
	defer local.Close()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, cli(s, "listen", "--events", "ticket.issued", "--forward-to", local.URL+"/hook"),
			func(string) string { return "" }, &out, &out)
	}()
	waitOutput(t, &out, "the ready line", func(printed string) bool { return strings.Contains(printed, "Ready.") })
	secret := regexp.MustCompile(`whsec_[A-Za-z0-9+/]+=*`).FindString(out.String())
	subID := regexp.MustCompile(`sub_[0-9a-f]+`).FindString(out.String())
	if secret == "" || subID == "" {
		t.Fatalf("no secret or subscription in:\n%s", out.String())
	}
	rv.mu.Lock()
	rv.secret = secret
	rv.mu.Unlock()
	if st := s.Admin("GET", "/v1/subscriptions/"+subID, "", nil, nil); st != http.StatusOK {
		t.Fatalf("the temporary subscription: %d", st)
	}

	if status, body := s.Send(ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_listen", 2))); status != http.StatusAccepted {
		t.Fatalf("send: %d %s", status, body)
	}
	waitOutput(t, &out, "two forwarded deliveries", func(printed string) bool {
		valid, _ := rv.counts()
		return valid == 2 && strings.Count(printed, "-> POST ") == 2
	})
	printed := out.String()
	for _, want := range []string{"ticket.issued", "signature valid", "webhook-signature: v1,", "webhook-id: evt_", `"order_id":"ord_listen"`, "204 No Content"} {
		if !strings.Contains(printed, want) {
			t.Errorf("listen output lacks %q:\n%s", want, printed)
		}
	}
	if _, invalid := rv.counts(); invalid != 0 || strings.Contains(printed, "INVALID") {
		t.Errorf("%d deliveries failed verification:\n%s", invalid, printed)
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("listen after Ctrl-C: %v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("listen did not stop")
	}
	ushertest.Eventually(t, 20*time.Second, "the temporary subscription deleted", func() bool {
		return s.Admin("GET", "/v1/subscriptions/"+subID, "", nil, nil) == http.StatusNotFound
	})
}

// TestListenNeedsTheListenScope: a token without the listen scope, or a bad
// event type, is refused with the problem's detail, and no subscription is
// left behind.
func TestListenNeedsTheListenScope(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	var tok struct{ Token string }
	if st := s.Admin("POST", "/v1/tokens", "", map[string]any{"scopes": []string{"subscriptions:read"}}, &tok); st != http.StatusCreated {
		t.Fatalf("token: %d", st)
	}
	out, err := runCLI(t, "listen", "--url", s.URL(), "--admin-token", tok.Token)
	if err == nil || !strings.Contains(out, `403 Forbidden: this token lacks the scope "listen"`) {
		t.Fatalf("listen without the scope: %v\n%s", err, out)
	}
	out, err = runCLI(t, "listen", "--events", "not a type", "--url", s.URL(), "--admin-token", ushertest.AdminToken)
	if err == nil || !strings.Contains(out, "400 Bad Request") {
		t.Fatalf("listen with a bad event type: %v\n%s", err, out)
	}
	var subs struct{ Subscriptions []any }
	if s.Admin("GET", "/v1/subscriptions", "", nil, &subs); len(subs.Subscriptions) != 0 {
		t.Fatalf("subscriptions after a refused listen: %v", subs.Subscriptions)
	}
}

// waitOutput polls cond on the command's output for up to 30s, and prints
// the output if it never holds.
func waitOutput(t *testing.T, out *syncBuffer, what string, cond func(printed string) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; output:\n%s", what, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
