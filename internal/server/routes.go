package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/ingest"
	"github.com/usherhq/usher/internal/problem"
)

// routes lists every HTTP route of usher. API routes carry their scope
// (auth.Route) and are guarded by authn; /metrics needs metrics:read here (it names sources) and is
// served without a token only on Config.MetricsAddr; the others are public
// by design: the receiver authenticates each webhook by its signature, and
// health reveals no data. Every problem response is counted by code and
// every internal error logged once (problem.Reporter).
func (a *App) routes(recv *ingest.Receiver, authn *auth.Authenticator) http.Handler {
	mux := http.NewServeMux()
	if a.cfg.Has(RoleIngest) {
		mux.Handle("/webhooks/{source}", recv)
	}
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", a.handleReadyz())
	mux.Handle("GET /metrics", authn.Guard(auth.ScopeMetricsRead, a.metricsHandler()))
	for pattern, h := range a.publicRoutes { // capabilities in the URL, e.g. pass links
		mux.Handle(pattern, h)
	}
	for _, rt := range a.adminRoutes {
		mux.Handle(rt.Method+" "+rt.Pattern, authn.Guard(rt.Scope, rt.Handler))
	}
	return a.reporter().Handler(refuseBadQuery(problemsForUnmatched(mux)))
}

// refuseBadQuery answers a request whose query string does not parse (a bad
// percent escape, a ";" separator) with a 400 problem: url.Values drops
// such pairs without a word, so a filter or a limit the caller sent would
// otherwise be ignored. The webhook receiver is left alone: a sender's URL
// is not usher's API, and its query carries nothing usher reads.
func refuseBadQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/webhooks/") {
			if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
				problem.Write(w, r, usher.Errorf(usher.CodeInvalid, "the query string does not parse: %v", err))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// reporter logs internal errors to the process log and counts problems in
// usher_http_errors_total.
func (a *App) reporter() problem.Reporter {
	return problem.Reporter{Log: a.log, Errors: a.metrics.HTTPErrors}
}

// metricsHandler serves the Prometheus exposition of the process's metrics.
func (a *App) metricsHandler() http.Handler {
	return promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{Registry: a.metrics.Registry})
}

// serveMetrics starts the token-free /metrics listener on Config.MetricsAddr,
// meant for a private network; without MetricsAddr it does nothing.
func (a *App) serveMetrics() error {
	if a.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metricsHandler())
	a.metricsLn = ln
	a.metricsHTTP = &http.Server{Handler: a.reporter().Handler(problemsForUnmatched(mux)), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 60 * time.Second,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	go func() { _ = a.metricsHTTP.Serve(ln) }()
	return nil
}

// MetricsAddr returns the address of the token-free /metrics listener, or
// "" when there is none.
func (a *App) MetricsAddr() string {
	if a.metricsLn == nil {
		return ""
	}
	return a.metricsLn.Addr().String()
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
}

// problemsForUnmatched answers requests that match no route with a problem
// (404, or 405 with Allow) instead of the mux's plain-text replies.
func problemsForUnmatched(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		problem.NoRoute(w, r, mux, "", "no route for "+r.URL.Path)
	})
}
