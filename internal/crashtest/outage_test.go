package crashtest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/ushertest"
)

// wantProblem checks a 503 application/problem+json answer with code.
func wantProblem(t *testing.T, status int, body []byte, code usher.Code) {
	t.Helper()
	var d problem.Details
	if err := json.Unmarshal(body, &d); err != nil || status != http.StatusServiceUnavailable || d.Status != status || d.Code != string(code) {
		t.Errorf("got %d %s, want 503 with a problem of code %s", status, body, code)
	}
}

func paid(orderID string) []byte {
	return ushertest.Envelope(usher.TypeOrderPaid, ushertest.Paid(orderID, 1))
}

// TestQueueDownAnswers503 stops the embedded NATS server under a running
// usher: a webhook must then get 503 with a problem body, never a 2xx; a 2xx
// is right only once a new server has taken the stopped one's place, and
// then that webhook must be applied. The webhook accepted before the outage
// must be applied once usher is restarted on its data directory.
func TestQueueDownAnswers503(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t, ushertest.WithRoles("ingest"))
	if status, body := s.Send(ushertest.NewID(), paid("ord_before_outage")); status != http.StatusAccepted {
		t.Fatalf("before the outage: got %d %s, want 202", status, body)
	}
	stopped := s.Queue().Server()
	stopped.Shutdown()
	want := map[string]bool{"ord_before_outage": true}
	refused := 0
	for i := range 3 {
		order := fmt.Sprintf("ord_during_outage_%d", i)
		status, body := s.Send(ushertest.NewID(), paid(order))
		switch {
		case status == http.StatusAccepted && s.Queue().Server() != stopped:
			want[order] = true // the queue healed before this one
		case status == http.StatusAccepted:
			t.Errorf("with the queue down: got %d %s, want 503", status, body)
		default:
			wantProblem(t, status, body, usher.CodeQueueUnavailable)
			refused++
		}
	}
	t.Logf("%d of 3 webhooks sent after the NATS server stopped got 503", refused)

	s.Restart(ushertest.WithRoles("ingest", "process"))
	ctx := context.Background()
	ushertest.Eventually(t, guard, "every acknowledged order applied", func() bool {
		for order := range want {
			if _, err := s.Store().OrderWithTickets(ctx, order); err != nil {
				return false
			}
		}
		pending, err := s.Queue().Pending(ctx)
		return err == nil && pending == 0
	})
	if counts, _ := s.Store().CountInbound(ctx); counts["applied"] != len(want) {
		t.Errorf("applied %v, want exactly the %d acknowledged events", counts, len(want))
	}
}

// TestQueueComesBackByItself stops the embedded NATS server and expects
// usher to heal without a restart: once the embedded server is back, new
// webhooks get 202 and are applied. Today nothing restarts the embedded
// server and the connection's in-process reconnects dial the dead one, so
// every webhook gets 503 until the process is restarted (see
// docs/benchmarks.md, "Product changes").
func TestQueueComesBackByItself(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	s.Queue().Server().Shutdown()
	status, body := s.Send(ushertest.NewID(), paid("ord_in_outage"))
	wantProblem(t, status, body, usher.CodeQueueUnavailable)

	deadline := time.Now().Add(30 * time.Second) // a guard, not a timing assertion
	for {
		status, body = s.Send(ushertest.NewID(), paid("ord_after_outage"))
		if status == http.StatusAccepted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after the embedded NATS server stopped, webhooks still get %d %s: the queue did not come back by itself", status, bytes.TrimSpace(body))
		}
		time.Sleep(200 * time.Millisecond)
	}
	ushertest.Eventually(t, guard, "the order accepted after the outage", func() bool {
		_, err := s.Store().OrderWithTickets(context.Background(), "ord_after_outage")
		return err == nil
	})
}

// TestStoreLockedEventsWaitInQueue holds an exclusive lock on the SQLite
// file while webhooks arrive: they are still acknowledged (the receiver
// needs only the queue), nothing is applied while the lock is held, and
// every one of them is applied once it is released. The long hold outlasts
// SQLite's busy timeout (10 s), so the processor's transaction fails with
// SQLITE_BUSY and is retried.
func TestStoreLockedEventsWaitInQueue(t *testing.T) {
	t.Parallel()
	for _, hold := range []time.Duration{3 * time.Second, 12 * time.Second} {
		t.Run(hold.String(), func(t *testing.T) {
			t.Parallel()
			const n = 30
			s := ushertest.Start(t)
			ctx := context.Background()
			unlock := lockSQLite(t, filepath.Join(s.Config.DataDir, "usher.db"))
			locked := time.Now()
			for i := range n {
				if status, body := s.Send(ushertest.NewID(), paid(fmt.Sprintf("ord_locked_%02d", i))); status != http.StatusAccepted {
					t.Fatalf("send while the store is locked: got %d %s, want 202", status, body)
				}
			}
			if counts, err := s.Store().CountInbound(ctx); err != nil || len(counts) != 0 {
				t.Errorf("while the store is locked: got outcomes %v (%v), want nothing applied", counts, err)
			}
			time.Sleep(hold - time.Since(locked))
			unlock()
			ushertest.Eventually(t, guard, fmt.Sprintf("%d events applied after the lock", n), func() bool {
				counts, err := s.Store().CountInbound(ctx)
				pending, perr := s.Queue().Pending(ctx)
				return err == nil && perr == nil && counts["applied"] == n && pending == 0
			})
			for i := range n {
				id := fmt.Sprintf("ord_locked_%02d", i)
				if o, err := s.Store().OrderWithTickets(ctx, id); err != nil || len(o.Tickets) != 1 {
					t.Errorf("order %s: %+v, %v; want one ticket", id, o, err)
				}
			}
		})
	}
}

// lockSQLite holds BEGIN EXCLUSIVE on the database from another connection
// until the returned function is called (or the test ends).
func lockSQLite(t *testing.T, path string) (unlock func()) {
	t.Helper()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatalf("lock the store: %v", err)
	}
	done := false
	unlock = func() {
		if done {
			return
		}
		done = true
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil && !strings.Contains(err.Error(), "no transaction") {
			t.Errorf("unlock the store: %v", err)
		}
		_ = conn.Close()
		_ = db.Close()
	}
	t.Cleanup(unlock)
	return unlock
}
