// Package console is usher's operator console: server-rendered HTML pages
// at /console/ that answer an operator's questions (what is failing, what
// is stuck, what happened to this order) and carry the few actions that fix
// things (replay, pause, resume, incidents). Assets are embedded; nothing
// is loaded from elsewhere. Sign-in takes an admin token; every page and
// action checks the token's scopes exactly as the API does.
package console

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/delivery"
	"github.com/usherhq/usher/internal/incident"
	"github.com/usherhq/usher/internal/problem"
)

// Prefix is where the console is served.
const Prefix = "/console/"

//go:embed assets
var assets embed.FS

// Authenticator checks a bearer token: auth.Authenticator.
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Principal, error)
}

// Store is what the console reads; *store.DB implements it.
type Store interface {
	SearchDeadLetters(ctx context.Context, f usher.DeadLetterFilter) ([]usher.DeadLetterRecord, string, error)
	DeadLetterByID(ctx context.Context, id string) (usher.DeadLetterRecord, error)
	OpenDeadLetters(ctx context.Context) (map[string]int, error)
	InboundRecords(ctx context.Context, orderID string) ([]usher.InboundRecord, error)
	InboundByEvent(ctx context.Context, eventID string) ([]usher.InboundRecord, error)
	OutboxByOrder(ctx context.Context, orderID string, limit int) ([]usher.OutboundEvent, error)
	OutboxEvent(ctx context.Context, id string) (usher.OutboundEvent, error)
	DeliveriesOfEvent(ctx context.Context, eventID string) ([]usher.Delivery, error)
	DeliveryAttempts(ctx context.Context, f usher.AttemptFilter) ([]usher.DeliveryAttempt, error)
	OrderWithTickets(ctx context.Context, orderID string) (usher.Order, error)
	ScansOfTicket(ctx context.Context, ticketID string) ([]usher.Scan, error)
	Venues(ctx context.Context) ([]string, error)
	FeedState(ctx context.Context, venueID string) (usher.FeedState, error)
	Devices(ctx context.Context, venueID string) ([]usher.DeviceActivity, error)
	ScanConflicts(ctx context.Context, venueID string, limit int) ([]usher.Scan, error)
	Sources(ctx context.Context) ([]usher.Source, error)
	Source(ctx context.Context, name string) (usher.Source, []usher.SourceSecret, error)
	KeyUsage(ctx context.Context, source string, since time.Time) ([]usher.KeyUse, error)
	AuditLog(ctx context.Context, f usher.AuditFilter) ([]usher.AuditRecord, error)
	AuditHead(ctx context.Context) (usher.AuditHead, error)
}

// Lanes is the delivery service as the console uses it.
type Lanes interface {
	Subscriptions(ctx context.Context) ([]usher.Subscription, error)
	Pending(ctx context.Context) (map[string]int, error)
	BreakerState(id string) string
	PauseSubscription(ctx context.Context, id string) (usher.Subscription, error)
	ResumeSubscription(ctx context.Context, id string) (usher.Subscription, error)
	ReplaySubscription(ctx context.Context, id string, since, until time.Time, cursor string, limit int) (delivery.ReplayResult, error)
	ReplayDeadLetter(ctx context.Context, id string) (usher.DeadLetterRecord, error)
	ReplayDeadLetters(ctx context.Context, f usher.DeadLetterFilter) (delivery.ReplayResult, error)
	Attempts(ctx context.Context, f usher.AttemptFilter) ([]usher.DeliveryAttempt, error)
}

// Incidents is the incident service as the console uses it.
type Incidents interface {
	Create(ctx context.Context, title, description string) (usher.Incident, error)
	List(ctx context.Context, status string, limit int) ([]usher.Incident, error)
	Detail(ctx context.Context, id string) (incident.Detail, error)
	Tag(ctx context.Context, id string, req incident.TagRequest) (incident.TagResult, error)
	Replay(ctx context.Context, id string) (incident.ReplayResult, error)
	Close(ctx context.Context, id, summary string) (usher.Incident, error)
}

// Deps are what the console is built from. Lanes and Incidents may be nil
// when delivery is off in this process; their pages then say so.
type Deps struct {
	Auth      Authenticator
	Store     Store
	Lanes     Lanes
	Incidents Incidents
	// Gatherer gives the process's metrics to the overview.
	Gatherer prometheus.Gatherer
	Log      *slog.Logger
	Now      func() time.Time
	// SessionTTL bounds a sign-in; 8 hours when 0.
	SessionTTL time.Duration
	// TrustedProxies are the peers whose X-Forwarded-Proto is believed: a
	// sign-in through a TLS-terminating proxy among them gets a Secure
	// session cookie.
	TrustedProxies []netip.Prefix
	// TraceURLTemplate, when set, links an event's trace id on the journey
	// page to the operator's tracing backend: TraceIDPlaceholder in it is
	// replaced by the id, e.g. http://jaeger:16686/trace/{trace_id}.
	TraceURLTemplate string
}

// TraceIDPlaceholder is what a trace URL template names the trace id by.
const TraceIDPlaceholder = "{trace_id}"

// Console serves the operator console.
type Console struct {
	d        Deps
	sessions *sessions
	pages    *pages
	jobs     *jobs
	rates    *rates
	life     context.Context // ends at Stop
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// New returns the console; Start begins its background work.
func New(d Deps) (*Console, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.SessionTTL == 0 {
		d.SessionTTL = 8 * time.Hour
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Console{d: d, life: context.Background(), sessions: newSessions(d.Now, d.SessionTTL), pages: p, jobs: newJobs(), rates: &rates{}}, nil
}

// Start samples the metrics for the overview's rates until Stop.
func (c *Console) Start(ctx context.Context) error {
	ctx, c.stop = context.WithCancel(context.WithoutCancel(ctx))
	c.life = ctx
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.sample(ctx)
	}()
	return nil
}

// Stop ends the sampling and any bulk replay still running, and waits.
func (c *Console) Stop() {
	if c.stop != nil {
		c.stop()
	}
	c.wg.Wait()
}

// Handler serves every console route under Prefix.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /console/static/", staticFiles(mustSub("assets")))
	mux.HandleFunc("GET /console/login", c.loginPage)
	mux.HandleFunc("POST /console/login", c.login)
	mux.Handle("POST /console/logout", c.authed(c.logout))
	c.pageRoutes(mux)
	mux.Handle(Prefix, unmatchedPage(mux))
	return securityHeaders(mux)
}

// unmatchedPage answers what no console route takes: 405 with Allow when
// the path has routes for other methods, else 404, both as problems.
func unmatchedPage(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.NoRoute(w, r, mux, Prefix, "no console page "+r.URL.Path)
	})
}

// staticFiles serves the console's files under /console/static/: a name
// that is no file (a directory, a missing one) is a 404 problem, never a
// listing or a plain-text answer.
func staticFiles(fsys fs.FS) http.Handler {
	files := http.StripPrefix(Prefix, http.FileServerFS(fsys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		if info, err := fs.Stat(fsys, name); err != nil || info.IsDir() {
			problem.Fail(w, r, usher.Errorf(usher.CodeNotFound, "no console file %s", r.URL.Path))
			return
		}
		files.ServeHTTP(w, r)
	})
}

// pageRoutes lists the pages and actions with the scope each needs.
func (c *Console) pageRoutes(mux *http.ServeMux) {
	for _, rt := range []struct {
		pattern, scope string
		h              handler
	}{
		{"GET /console/{$}", auth.ScopeAnyToken, c.overview},
		{"GET /console/dead-letters", auth.ScopeDLQRead, c.deadLetters},
		{"POST /console/dead-letters/{id}/replay", auth.ScopeDLQReplay, c.replayOne},
		{"POST /console/dead-letters/replay", auth.ScopeDLQReplay, c.bulkReplay},
		{"GET /console/replays/{job}", auth.ScopeDLQRead, c.replayProgress},
		{"GET /console/lanes", auth.ScopeSubsRead, c.lanes},
		{"POST /console/lanes/{id}/pause", auth.ScopeSubsWrite, c.pauseLane(false)},
		{"POST /console/lanes/{id}/resume", auth.ScopeSubsWrite, c.pauseLane(true)},
		{"POST /console/lanes/{id}/replay", auth.ScopeDLQReplay, c.replayLane},
		{"GET /console/venues", auth.ScopeAnyToken, c.venues},
		{"GET /console/journey", auth.ScopeOrdersRead, c.journey},
		{"GET /console/sources", auth.ScopeSourcesRead, c.sources},
		{"GET /console/audit", auth.ScopeAuditRead, c.audit},
		{"GET /console/incidents", incident.ScopeRead, c.incidents},
		{"POST /console/incidents", incident.ScopeWrite, c.createIncident},
		{"GET /console/incidents/{id}", incident.ScopeRead, c.incident},
		{"POST /console/incidents/{id}/tag", incident.ScopeWrite, c.tagIncident},
		{"POST /console/incidents/{id}/replay", incident.ScopeWrite, c.replayIncident},
		{"POST /console/incidents/{id}/close", incident.ScopeWrite, c.closeIncident},
	} {
		mux.Handle(rt.pattern, c.authed(c.scoped(rt.scope, rt.h)))
	}
}

// securityHeaders sets the Content-Security-Policy and its companions on
// every console response: no inline script, nothing from elsewhere, no
// framing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
