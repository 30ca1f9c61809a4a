package problem

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/usherhq/usher"
)

// Reporter logs and counts the problems a server writes. The server installs
// one for every request with Handler; Write counts each problem by code and
// Fail logs internal errors once, so no API keeps an error writer of its own.
type Reporter struct {
	// Log receives one record per internal error (status 500 and above,
	// except not_implemented): method, route pattern, code and the error.
	// Never the URL path, which may carry a credential such as a pass token.
	Log *slog.Logger
	// Errors, when set, counts problems by code (label "code"), as
	// usher_http_errors_total in telemetry.Metrics.
	Errors *prometheus.CounterVec
}

type reporterKey struct{}

// Handler returns h with the reporter in each request's context.
func (rep Reporter) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reporterKey{}, rep)))
	})
}

// reporterOf returns the reporter of r; outside a server (a handler tested
// alone) it logs to slog.Default and counts nothing.
func reporterOf(r *http.Request) Reporter {
	if rep, ok := r.Context().Value(reporterKey{}).(Reporter); ok && rep.Log != nil {
		return rep
	}
	return Reporter{Log: slog.Default()}
}

// Fail is the error writer of every API handler: it logs an internal error
// once, with the route and code, then writes err as a problem (Write).
// Errors the caller caused (4xx) are not logged: they are the caller's to
// read in the response, and counted by code.
func Fail(w http.ResponseWriter, r *http.Request, err error) {
	code := usher.ErrorCode(err)
	if Status(code) >= http.StatusInternalServerError && code != usher.CodeNotImplemented {
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		reporterOf(r).Log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", route, "code", string(code), "err", err)
	}
	Write(w, r, err)
}

// count adds one problem of code to the reporter's counter, if any.
func count(r *http.Request, code usher.Code) {
	if rep, ok := r.Context().Value(reporterKey{}).(Reporter); ok && rep.Errors != nil {
		rep.Errors.WithLabelValues(string(code)).Inc()
	}
}
