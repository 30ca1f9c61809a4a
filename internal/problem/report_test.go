package problem_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
)

// TestFailLogsInternalErrorsOnceAndCountsEveryCode: through a Reporter, an
// internal error is logged once with its route and code (never the path,
// which may hold a credential), a caller's error is not logged, and both
// are counted by code.
func TestFailLogsInternalErrorsOnceAndCountsEveryCode(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "usher_http_errors_total"}, []string{"code"})
	rep := problem.Reporter{Log: slog.New(slog.NewTextHandler(&logs, nil)), Errors: errs}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /passes/{token}", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("boom") != "" {
			problem.Fail(w, r, errors.New("store: disk on fire"))
			return
		}
		problem.Fail(w, r, usher.Errorf(usher.CodeInvalidPass, "bad pass"))
	})
	h := rep.Handler(mux)
	for _, target := range []string{"/passes/SECRET1?boom=1", "/passes/SECRET2", "/passes/SECRET3"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Header().Get("Content-Type") != problem.ContentType {
			t.Fatalf("%s: content type %q", target, rec.Header().Get("Content-Type"))
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("logged %d lines, want 1 (the internal error only):\n%s", len(lines), logs.String())
	}
	for _, want := range []string{`route="GET /passes/{token}"`, "code=internal", "disk on fire"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %q lacks %s", lines[0], want)
		}
	}
	if strings.Contains(logs.String(), "SECRET") {
		t.Errorf("log holds the path's credential: %s", logs.String())
	}
	if got := counted(t, errs, "internal"); got != 1 {
		t.Errorf("internal errors counted = %v, want 1", got)
	}
	if got := counted(t, errs, "invalid_pass"); got != 2 {
		t.Errorf("invalid_pass errors counted = %v, want 2", got)
	}
}

// counted reads the counter of code.
func counted(t *testing.T, errs *prometheus.CounterVec, code string) float64 {
	t.Helper()
	var m dto.Metric
	if err := errs.WithLabelValues(code).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
