package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/admin"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ushertest"
)

// Every usher this test binary starts may deliver to receivers on
// 127.0.0.1 and looks at its outbox often (see internal/server/delivery.go).
func init() {
	os.Setenv("USHER_ALLOW_PRIVATE_DESTINATIONS", "true")
	os.Setenv("USHER_DELIVERY_POLL_INTERVAL", "50ms")
}

const wait = time.Minute

// browser starts Debian's chromium headless with a fresh profile and
// returns a chromedp context; without chromium the test is skipped, except
// in CI, where .ci/run installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium is required in CI: %v", err)
		}
		t.Skipf("chromium not installed (%v); .ci/run installs it", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile(t)), chromedp.WindowSize(1400, 1000),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	// This cdproto predates some event fields of the newest chromium; its
	// complaints about them are noise, not failures.
	quiet := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "could not unmarshal event") {
			t.Logf("chromedp: %s", msg)
		}
	}
	ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithErrorf(quiet))
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel3)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// profile is a fresh chromium profile, removed when the test ends even if
// chromium is still writing to it while it exits.
func profile(t *testing.T) string {
	dir, err := os.MkdirTemp("", "usher-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// shots is the folder the screenshots go to: USHER_SCREENSHOTS, or
// usher-console-screenshots in the temporary directory.
func shots(t *testing.T) string {
	dir := os.Getenv("USHER_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "usher-console-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// receiver is a local endpoint that refuses deliveries until told to
// accept them.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	accept bool
	got    map[string]int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{got: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if !rc.accept {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.got[r.Header.Get("webhook-id")]++
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setAccept(v bool) {
	rc.mu.Lock()
	rc.accept = v
	rc.mu.Unlock()
}

func (rc *receiver) delivered(id string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.got[id] > 0
}

func signIn(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible("#token", chromedp.ByID),
		chromedp.SendKeys("#token", token, chromedp.ByID),
		chromedp.Submit("#login", chromedp.ByID),
		chromedp.WaitVisible("nav", chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	var s string
	if err := chromedp.Run(ctx, chromedp.Text(sel, &s, chromedp.ByQuery)); err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// setup starts usher with a subscription whose receiver refuses, and waits
// for the dead letters of two events.
func setup(t *testing.T, opts ...ushertest.Option) (*ushertest.Server, *receiver, string, []string) {
	s := ushertest.Start(t, opts...)
	rc := newReceiver(t)
	var sub struct {
		ID string `json:"id"`
	}
	if st := s.Admin(http.MethodPost, "/v1/subscriptions", "", map[string]any{"url": rc.URL, "event_types": []string{"ticket.issued"}}, &sub); st != http.StatusCreated {
		t.Fatalf("subscribe: %d", st)
	}
	var ids []string
	err := s.Store().InTx(context.Background(), func(tx *store.Tx) error {
		for _, o := range []string{"ord_console_1", "ord_console_2"} {
			id := "evt_" + ushertest.NewID()
			ids = append(ids, id)
			if err := tx.AppendOutbox(context.Background(), usher.OutboundEvent{ID: id, Type: "ticket.issued", OrderID: o, VenueID: "venue_demo", Data: []byte(`{"order_id":"` + o + `"}`)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ushertest.Eventually(t, wait, "2 dead letters", func() bool {
		dls, _, err := s.Store().SearchDeadLetters(context.Background(), usher.DeadLetterFilter{SubscriptionID: sub.ID, Limit: 10})
		return err == nil && len(dls) == 2
	})
	return s, rc, sub.ID, ids
}

func TestConsoleInABrowser(t *testing.T) {
	ctx := browser(t)
	dir := shots(t)
	s, rc, subID, events := setup(t, traced(t))
	base := s.URL()
	signIn(t, ctx, base, ushertest.AdminToken)
	shoot(t, ctx, dir, "overview")

	// A replay posted without the session's CSRF token is refused, even
	// from a session that may replay.
	dls, _, _ := s.Store().SearchDeadLetters(context.Background(), usher.DeadLetterFilter{Limit: 1})
	if st := forgeReplay(t, ctx, dls[0].ID, "return="); st != http.StatusForbidden {
		t.Fatalf("replay without the CSRF token by an admin session: %d, want 403", st)
	}
	if dl, _ := s.Store().DeadLetterByID(context.Background(), dls[0].ID); dl.Replays != 0 {
		t.Fatalf("the forged replay replayed %s", dl.ID)
	}

	// Find the first event's dead letter by filter and replay it with one
	// click; the receiver now accepts and gets it.
	rc.setAccept(true)
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/console/dead-letters"),
		chromedp.SendKeys("#f-order_id", "ord_console_1", chromedp.ByID),
		chromedp.SendKeys("#f-error", "400", chromedp.ByID),
		chromedp.Click("#search", chromedp.ByID),
		// The unfiltered page already shows replay buttons: wait for the
		// page the search loads, whose filter the server filled in.
		chromedp.WaitVisible(`#f-order_id[value="ord_console_1"]`, chromedp.ByQuery),
		chromedp.WaitVisible(".replay", chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if rows := text(t, ctx, "#dead-letters"); !strings.Contains(rows, "ord_console_1") || strings.Contains(rows, "ord_console_2") {
		t.Fatalf("filtered dead letters:\n%s\nwant only ord_console_1", rows)
	}
	shoot(t, ctx, dir, "dead-letters")
	if err := chromedp.Run(ctx, chromedp.Click(".replay", chromedp.ByQuery), chromedp.WaitVisible("#flash", chromedp.ByID)); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if f := text(t, ctx, "#flash"); !strings.Contains(f, "replayed") {
		t.Fatalf("after the click: %q", f)
	}
	ushertest.Eventually(t, wait, "the replayed event at the receiver", func() bool { return rc.delivered(events[0]) })

	bulkReplay(t, ctx, base, subID, dir)
	ushertest.Eventually(t, wait, "the bulk-replayed event at the receiver", func() bool { return rc.delivered(events[1]) })

	laneActions(t, ctx, s, subID, dir)
	journey(t, ctx, base, events[0], dir)
	tracedJourney(t, ctx, s, dir)
	otherPages(t, ctx, base, dir)
}

// bulkReplay replays by filter: a dry count first, then a confirmation,
// then the progress until done.
func bulkReplay(t *testing.T, ctx context.Context, base, subID, dir string) {
	t.Helper()
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/console/dead-letters?subscription_id="+subID),
		chromedp.Click("#bulk-replay", chromedp.ByID),
		chromedp.WaitVisible("#dry-count", chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("bulk dry count: %v", err)
	}
	if c := text(t, ctx, "#dry-count"); !strings.HasPrefix(c, "1 open") {
		t.Fatalf("dry count %q, want 1 open dead letter", c)
	}
	shoot(t, ctx, dir, "bulk-confirm")
	if err := chromedp.Run(ctx, chromedp.Click("#confirm", chromedp.ByID), chromedp.WaitVisible("#progress", chromedp.ByID)); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	ushertest.Eventually(t, wait, "the bulk replay done", func() bool {
		var p string
		_ = chromedp.Run(ctx, chromedp.Reload(), chromedp.Text("#progress", &p, chromedp.ByID))
		return strings.HasPrefix(p, "done: 1 matched, 1 replayed")
	})
	shoot(t, ctx, dir, "bulk-progress")

}

// otherPages opens the remaining pages for their screenshots and checks
// that the audit chain verifies.
func otherPages(t *testing.T, ctx context.Context, base, dir string) {
	t.Helper()
	for _, p := range []string{"venues", "sources", "audit", "incidents"} {
		if err := chromedp.Run(ctx, chromedp.Navigate(base+"/console/"+p), chromedp.WaitVisible("main", chromedp.ByQuery)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		shoot(t, ctx, dir, p)
	}
	if v := text(t, ctx, "body"); !strings.Contains(v, "Incidents") {
		t.Fatalf("incidents page: %q", v)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/console/audit")); err != nil {
		t.Fatal(err)
	}
	if v := text(t, ctx, "#verify"); !strings.HasPrefix(v, "Chain verified") {
		t.Fatalf("audit verify: %q", v)
	}
}

func laneActions(t *testing.T, ctx context.Context, s *ushertest.Server, subID, dir string) {
	t.Helper()
	state := func() string {
		sub, err := s.Store().Subscription(context.Background(), subID)
		if err != nil {
			t.Fatal(err)
		}
		return sub.Status
	}
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.URL()+"/console/lanes"),
		chromedp.Click("#lane-"+subID+" .pause", chromedp.ByQuery),
		chromedp.WaitVisible("#lane-"+subID+" .resume", chromedp.ByQuery),
	)
	if err != nil || state() != usher.SubscriptionPaused {
		t.Fatalf("pause: %v, state %s", err, state())
	}
	shoot(t, ctx, dir, "lanes-paused")
	err = chromedp.Run(ctx, chromedp.Click("#lane-"+subID+" .resume", chromedp.ByQuery), chromedp.WaitVisible("#lane-"+subID+" .pause", chromedp.ByQuery))
	if err != nil || state() != usher.SubscriptionActive {
		t.Fatalf("resume: %v, state %s", err, state())
	}
	shoot(t, ctx, dir, "lanes")
}

func journey(t *testing.T, ctx context.Context, base, eventID, dir string) {
	t.Helper()
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/console/journey"),
		chromedp.SendKeys("#q", eventID, chromedp.ByID),
		chromedp.Click("#follow", chromedp.ByID),
		chromedp.WaitVisible("#journey", chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("journey: %v", err)
	}
	j := text(t, ctx, "#journey")
	for _, want := range []string{"outbound ticket.issued " + eventID, "HTTP 400", "HTTP 200", "set aside"} {
		if !strings.Contains(j, want) {
			t.Errorf("journey lacks %q:\n%s", want, j)
		}
	}
	if note := text(t, ctx, "#untraced"); !strings.HasPrefix(note, "No trace") {
		t.Errorf("an untraced journey says %q", note)
	}
	shoot(t, ctx, dir, "journey")
}

// forgeReplay posts a replay of a dead letter from the page's own origin,
// as a script injected into it would, and returns the status.
func forgeReplay(t *testing.T, ctx context.Context, id, body string) int {
	t.Helper()
	js := fmt.Sprintf(`fetch("/console/dead-letters/%s/replay", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: %q}).then(r => r.status)`, id, body)
	var status int
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })); err != nil {
		t.Fatalf("forge: %v", err)
	}
	return status
}

// TestConsoleReadOnlyTokenAndForgedReplay: a token without dlq:replay sees
// no replay control, and the server refuses a replay without the session's
// CSRF token, or from a read-only session even with it.
func TestConsoleReadOnlyTokenAndForgedReplay(t *testing.T) {
	ctx := browser(t)
	dir := shots(t)
	s, _, _, _ := setup(t)
	_, secret, err := admin.IssueToken(context.Background(), s.Store(), usher.Token{Scopes: []string{auth.ScopeDLQRead, auth.ScopeSubsRead}, Description: "read-only", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	signIn(t, ctx, s.URL(), secret)
	var n int
	err = chromedp.Run(ctx,
		chromedp.Navigate(s.URL()+"/console/dead-letters"),
		chromedp.WaitVisible("#dead-letters", chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll(".replay, #bulk-replay").length`, &n),
	)
	if err != nil || n != 0 {
		t.Fatalf("read-only dead letters: %v, %d replay controls, want none", err, n)
	}
	shoot(t, ctx, dir, "dead-letters-read-only")
	if err := chromedp.Run(ctx, chromedp.Navigate(s.URL()+"/console/lanes"), chromedp.Evaluate(`document.querySelectorAll(".pause, .resume").length`, &n)); err != nil || n != 0 {
		t.Fatalf("read-only lanes: %v, %d pause controls", err, n)
	}

	// Forged requests from the page's own origin: without the CSRF token,
	// and with the read-only session's token.
	dls, _, _ := s.Store().SearchDeadLetters(context.Background(), usher.DeadLetterFilter{Limit: 1})
	forge := func(body string) int { return forgeReplay(t, ctx, dls[0].ID, body) }
	if st := forge("return="); st != http.StatusForbidden {
		t.Errorf("replay without the CSRF token: %d, want 403", st)
	}
	var csrf string
	if err := chromedp.Run(ctx, chromedp.Navigate(s.URL()+"/console/"), chromedp.Value(`input[name="csrf"]`, &csrf, chromedp.ByQuery)); err != nil || csrf == "" {
		t.Fatalf("csrf of the session: %v", err)
	}
	if st := forge("csrf=" + csrf); st != http.StatusForbidden {
		t.Errorf("replay by a read-only session: %d, want 403", st)
	}
	if dl, _ := s.Store().DeadLetterByID(context.Background(), dls[0].ID); !dl.ReplayedAt.IsZero() {
		t.Errorf("the dead letter was replayed by a refused request")
	}
}
